//! The product catalog: what a shop sells, in the shape customers ask about it
//! ("do you have it in blue?", "how much is the large one?", "is it in stock?").

use std::fmt;

use serde::{Deserialize, Serialize};

/// One product of the catalog, with the variants it is sold in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Product {
    /// The shop's handle for the product; importing the same id again replaces it.
    pub id: String,
    pub title: String,
    /// Plain text: markup from the shop's export is reduced to text on import.
    pub description: String,
    #[serde(default)]
    pub vendor: Option<String>,
    #[serde(default)]
    pub product_type: Option<String>,
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default)]
    pub url: Option<String>,
    pub status: ProductStatus,
    /// Option names such as `Color` and `Size`, in the order each variant's
    /// [`ProductVariant::option_values`] follow. Empty for a product sold one way only.
    #[serde(default)]
    pub options: Vec<String>,
    /// In the order the catalog lists them.
    #[serde(default)]
    pub variants: Vec<ProductVariant>,
}

/// One way a product is sold: a colour and size, say, with its own price and stock.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProductVariant {
    #[serde(default)]
    pub sku: Option<String>,
    /// One value per option name of the product, in the same order.
    #[serde(default)]
    pub option_values: Vec<String>,
    /// A decimal number as written in the catalog (`25`, `17.99`), without currency:
    /// text, so that no rounding ever changes a price a customer is quoted.
    #[serde(default)]
    pub price: Option<String>,
    /// The "was" price shown struck through, written like `price`.
    #[serde(default)]
    pub compare_at_price: Option<String>,
    /// Units in stock; `None` when the shop does not track this variant's inventory,
    /// which is not the same as none in stock.
    #[serde(default)]
    pub stock: Option<i64>,
    /// Kept as text exactly as exported: barcodes are identifiers, not numbers, and a
    /// spreadsheet's `3.65275E+11` cannot be turned back into the digits it hid.
    #[serde(default)]
    pub barcode: Option<String>,
}

/// Whether a product is on sale.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProductStatus {
    /// On sale.
    #[default]
    Active,
    /// Being prepared; not on sale yet.
    Draft,
    /// No longer sold.
    Archived,
}

impl ProductStatus {
    pub const ALL: [ProductStatus; 3] = [
        ProductStatus::Active,
        ProductStatus::Draft,
        ProductStatus::Archived,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ProductStatus::Active => "active",
            ProductStatus::Draft => "draft",
            ProductStatus::Archived => "archived",
        }
    }

    /// The status named `name`, in any case and with surrounding spaces ignored.
    pub fn from_name(name: &str) -> Option<ProductStatus> {
        let name = name.trim();
        ProductStatus::ALL
            .into_iter()
            .find(|status| status.as_str().eq_ignore_ascii_case(name))
    }
}

impl fmt::Display for ProductStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_read_back_from_their_names() {
        for status in ProductStatus::ALL {
            assert_eq!(ProductStatus::from_name(status.as_str()), Some(status));
        }
        assert_eq!(
            ProductStatus::from_name(" Archived "),
            Some(ProductStatus::Archived)
        );
        assert_eq!(ProductStatus::from_name("sold out"), None);
    }
}
