//! Product catalogs from CSV, in either of two layouts, told apart by the header row.
//!
//! **A shop platform's product export** (Shopify's product CSV) is recognised by a
//! `Handle`, `Variant Price` or `Variant SKU` column, and needs `Handle`, `Title` and
//! `Variant Price`. Rows sharing a handle are one product. Its first row carries the
//! product: `Title`, `Body (HTML)` (reduced to plain text), `Vendor`, `Type`, `Tags`
//! (comma-separated), `Status` (`active`, `draft` or `archived`; exports without it have
//! `Published`, where `FALSE` means draft) and the option names `Option1 Name` to
//! `Option3 Name`. Every row with an option value, a `Variant SKU` or a `Variant Price` is
//! a variant: its `Option1 Value` to `Option3 Value`, SKU, price, `Variant Compare At
//! Price`, `Variant Inventory Qty` and `Variant Barcode`. Rows with none of those only add
//! an image and are skipped. A product sold one way only has a single `Title` option of
//! value `Default Title`; it gets no options. Stock is kept only where `Variant Inventory
//! Tracker` names a tracker (or the column is absent): an untracked quantity says
//! nothing about what is in stock. Barcodes stay text exactly as exported, so a
//! spreadsheet's `3.65275E+11` is kept as written. Other columns are ignored.
//!
//! **Frontdesk's product CSV** has one row per variant under a header with `id` and
//! `title` and any of `description`, `price`, `compare_at_price`, `sku`, `stock`,
//! `barcode`, `options`, `url`, `tags`, `vendor`, `product_type` and `status`:
//!
//! ```text
//! id,title,description,price,options,stock
//! tee,Classic tee,Soft cotton.,25.00,Color=Blue; Size=M,4
//! tee,,,25.00,Color=Blue; Size=L,0
//! mug,Mug,Holds 350 ml.,9.50,,12
//! ```
//!
//! Rows with the same id are one product, whose fields are read from its first row; later
//! rows may repeat them or leave them empty. `options` lists `Name=Value` pairs separated
//! by `;`, with the same names in the same order on every row of a product; a product
//! without options has one row. `tags` are separated by `,`, `;` or `|`, and `status` is
//! as above (default `active`). The description is plain text.
//!
//! In both layouts prices are decimal numbers written with a dot and no currency (`25`,
//! `17.99`), kept as written; stock is a whole number. The first row of a product must
//! have its title; a later row may not contradict its first row's product fields; two
//! variants of one product may not have the same option values.

use std::collections::HashMap;
use std::path::Path;

use frontdesk_core::{Product, ProductStatus, ProductVariant};

use super::blocks::render;
use super::records::{csv_column_keys, read_rows, Row, Schema};
use super::{first_problem, format_of, html, read_text, Format, ImportError, Problems};

const FORMATS: &[Format] = &[Format::Csv];
const EXPECTED: &str = ".csv";

/// A column as the importer reads it (`key`, see [`Schema`]) and as the owner sees it in
/// the header (`label`), for error messages.
#[derive(Clone, Copy)]
struct Column {
    key: &'static str,
    label: &'static str,
}

const fn column(key: &'static str, label: &'static str) -> Column {
    Column { key, label }
}

// ---- the shop export -------------------------------------------------------------------

const HANDLE: Column = column("handle", "Handle");
const SHOP_TITLE: Column = column("title", "Title");
const BODY: Column = column("body_(html)", "Body (HTML)");
const VENDOR: Column = column("vendor", "Vendor");
const SHOP_TYPE: Column = column("type", "Type");
const SHOP_TAGS: Column = column("tags", "Tags");
const SHOP_STATUS: Column = column("status", "Status");
const PUBLISHED: Column = column("published", "Published");
const OPTION_NAMES: [Column; 3] = [
    column("option1_name", "Option1 Name"),
    column("option2_name", "Option2 Name"),
    column("option3_name", "Option3 Name"),
];
const OPTION_VALUES: [Column; 3] = [
    column("option1_value", "Option1 Value"),
    column("option2_value", "Option2 Value"),
    column("option3_value", "Option3 Value"),
];
const VARIANT_SKU: Column = column("variant_sku", "Variant SKU");
const VARIANT_PRICE: Column = column("variant_price", "Variant Price");
const VARIANT_COMPARE_AT: Column = column("variant_compare_at_price", "Variant Compare At Price");
const INVENTORY_TRACKER: Column = column("variant_inventory_tracker", "Variant Inventory Tracker");
const INVENTORY_QTY: Column = column("variant_inventory_qty", "Variant Inventory Qty");
const VARIANT_BARCODE: Column = column("variant_barcode", "Variant Barcode");

const SHOP_SCHEMA: Schema = Schema {
    required: &[HANDLE.key, SHOP_TITLE.key, VARIANT_PRICE.key],
    optional: &[
        BODY.key,
        VENDOR.key,
        SHOP_TYPE.key,
        SHOP_TAGS.key,
        SHOP_STATUS.key,
        PUBLISHED.key,
        OPTION_NAMES[0].key,
        OPTION_NAMES[1].key,
        OPTION_NAMES[2].key,
        OPTION_VALUES[0].key,
        OPTION_VALUES[1].key,
        OPTION_VALUES[2].key,
        VARIANT_SKU.key,
        VARIANT_COMPARE_AT.key,
        INVENTORY_TRACKER.key,
        INVENTORY_QTY.key,
        VARIANT_BARCODE.key,
    ],
    present: &[],
};
/// The single option the shop export gives a product sold one way only.
const DEFAULT_OPTION: (&str, &str) = ("Title", "Default Title");

// ---- Frontdesk's product CSV -----------------------------------------------------------

const ID: Column = column("id", "id");
const TITLE: Column = column("title", "title");
const DESCRIPTION: Column = column("description", "description");
const PRICE: Column = column("price", "price");
const COMPARE_AT_PRICE: Column = column("compare_at_price", "compare_at_price");
const SKU: Column = column("sku", "sku");
const STOCK: Column = column("stock", "stock");
const BARCODE: Column = column("barcode", "barcode");
const OPTIONS: Column = column("options", "options");
const URL: Column = column("url", "url");
const TAGS: Column = column("tags", "tags");
const SIMPLE_VENDOR: Column = column("vendor", "vendor");
const PRODUCT_TYPE: Column = column("product_type", "product_type");
const STATUS: Column = column("status", "status");

const SIMPLE_SCHEMA: Schema = Schema {
    required: &[ID.key, TITLE.key],
    optional: &[
        DESCRIPTION.key,
        PRICE.key,
        COMPARE_AT_PRICE.key,
        SKU.key,
        STOCK.key,
        BARCODE.key,
        OPTIONS.key,
        URL.key,
        TAGS.key,
        SIMPLE_VENDOR.key,
        PRODUCT_TYPE.key,
        STATUS.key,
    ],
    present: &[],
};

/// Reads a product catalog from a `.csv` file in either layout.
pub fn read_products(path: &Path) -> Result<Vec<Product>, ImportError> {
    format_of(path, FORMATS, EXPECTED)?;
    let text = read_text(path)?;
    products_from_str(path, &text)
}

/// Reads a product catalog from CSV text; `path` must end in `.csv` and names errors.
pub fn products_from_str(path: &Path, text: &str) -> Result<Vec<Product>, ImportError> {
    check_products(path, text).map_err(first_problem)
}

/// Reads a product catalog from CSV text like [`products_from_str`], but goes on past a
/// bad row and returns every problem found (up to
/// [`MAX_LISTED_PROBLEMS`](super::MAX_LISTED_PROBLEMS)).
pub fn check_products(path: &Path, text: &str) -> Result<Vec<Product>, Vec<ImportError>> {
    format_of(path, FORMATS, EXPECTED).map_err(|e| vec![e])?;
    let layout = Layout::of(&csv_column_keys(text));
    let mut problems = Problems::default();
    let rows =
        read_rows(path, text, Format::Csv, layout.schema(), &mut problems).map_err(|e| vec![e])?;
    let mut catalog = Catalog::default();
    for row in &rows {
        let added = layout
            .read(row)
            .and_then(|product_row| catalog.add(product_row, row.line));
        if let Err(message) = added {
            problems.add(ImportError::at(path, row.line, message));
        }
    }
    if catalog.products.is_empty() && problems.is_empty() {
        return Err(vec![ImportError::file(path, "no products found")]);
    }
    let products = catalog
        .products
        .into_iter()
        .map(|draft| draft.product)
        .collect();
    problems.or(path, products)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Layout {
    ShopExport,
    Simple,
}

impl Layout {
    /// The shop export when the header has one of its variant columns or a handle; the
    /// simple layout otherwise, whose schema then names any missing column.
    fn of(column_keys: &[String]) -> Layout {
        let shop_columns = [HANDLE.key, VARIANT_PRICE.key, VARIANT_SKU.key];
        if column_keys
            .iter()
            .any(|key| shop_columns.contains(&key.as_str()))
        {
            Layout::ShopExport
        } else {
            Layout::Simple
        }
    }

    fn schema(self) -> &'static Schema {
        match self {
            Layout::ShopExport => &SHOP_SCHEMA,
            Layout::Simple => &SIMPLE_SCHEMA,
        }
    }

    fn read(self, row: &Row) -> Result<ProductRow, String> {
        match self {
            Layout::ShopExport => shop_row(row),
            Layout::Simple => simple_row(row),
        }
    }
}

/// What one row says, in either layout.
struct ProductRow {
    id: String,
    /// The product's fields as this row gives them; only a product's first row counts.
    head: ProductHead,
    /// The product-level cells this row fills, as (column label, text): later rows of a
    /// product may repeat its first row's but not contradict them.
    cells: Vec<(&'static str, String)>,
    /// Option names, where this row gives them.
    option_names: Vec<String>,
    /// `None` for a row that adds no variant (an image row of the shop export).
    variant: Option<VariantRow>,
}

/// The product-level fields one row gives.
struct ProductHead {
    title: Option<String>,
    description: Option<String>,
    vendor: Option<String>,
    product_type: Option<String>,
    tags: Vec<String>,
    url: Option<String>,
    status: Option<ProductStatus>,
}

/// The variant one row gives, before its values are matched to the product's options.
struct VariantRow {
    /// One per option position, `None` where the row has no value.
    option_values: Vec<Option<String>>,
    sku: Option<String>,
    price: Option<String>,
    compare_at_price: Option<String>,
    stock: Option<i64>,
    barcode: Option<String>,
}

fn shop_row(row: &Row) -> Result<ProductRow, String> {
    let id = required(row, HANDLE)?;
    let mut cells = Cells::new(row);
    let title = cells.text(SHOP_TITLE)?;
    let description = cells.text(BODY)?.map(|body| html_to_text(&body));
    let vendor = cells.text(VENDOR)?;
    let product_type = cells.text(SHOP_TYPE)?;
    let tags = cells.tags(SHOP_TAGS)?;
    let published = cells.published()?;
    let status = cells.status(SHOP_STATUS)?.or(published);
    let option_names = shop_option_names(row)?;
    let option_values = OPTION_VALUES
        .iter()
        .map(|&c| text(row, c))
        .collect::<Result<Vec<_>, _>>()?;
    let (option_names, option_values) = without_default_option(option_names, option_values);
    let sku = text(row, VARIANT_SKU)?;
    let variant_price = price(row, VARIANT_PRICE)?;
    let image_only =
        option_values.iter().all(Option::is_none) && sku.is_none() && variant_price.is_none();
    let variant = if image_only {
        None
    } else {
        Some(VariantRow {
            option_values,
            sku,
            price: variant_price,
            compare_at_price: price(row, VARIANT_COMPARE_AT)?,
            stock: shop_stock(row)?,
            barcode: text(row, VARIANT_BARCODE)?,
        })
    };
    Ok(ProductRow {
        id,
        head: ProductHead {
            title,
            description,
            vendor,
            product_type,
            tags,
            url: None,
            status,
        },
        cells: cells.filled,
        option_names,
        variant,
    })
}

fn simple_row(row: &Row) -> Result<ProductRow, String> {
    let id = required(row, ID)?;
    let mut cells = Cells::new(row);
    let head = ProductHead {
        title: cells.text(TITLE)?,
        description: cells.text(DESCRIPTION)?,
        vendor: cells.text(SIMPLE_VENDOR)?,
        product_type: cells.text(PRODUCT_TYPE)?,
        tags: cells.tags(TAGS)?,
        url: cells.text(URL)?,
        status: cells.status(STATUS)?,
    };
    let options = match text(row, OPTIONS)? {
        Some(options) => parse_options(&options)?,
        None => Vec::new(),
    };
    let (option_names, option_values) = options
        .into_iter()
        .map(|(name, value)| (name, Some(value)))
        .unzip();
    let variant = VariantRow {
        option_values,
        sku: text(row, SKU)?,
        price: price(row, PRICE)?,
        compare_at_price: price(row, COMPARE_AT_PRICE)?,
        stock: stock(row, STOCK)?,
        barcode: text(row, BARCODE)?,
    };
    Ok(ProductRow {
        id,
        head,
        cells: cells.filled,
        option_names,
        variant: Some(variant),
    })
}

/// Reads product-level cells, noting the ones a row fills.
struct Cells<'r> {
    row: &'r Row,
    filled: Vec<(&'static str, String)>,
}

impl<'r> Cells<'r> {
    fn new(row: &'r Row) -> Self {
        Cells {
            row,
            filled: Vec::new(),
        }
    }

    fn text(&mut self, column: Column) -> Result<Option<String>, String> {
        let value = text(self.row, column)?;
        if let Some(value) = &value {
            self.filled.push((column.label, value.clone()));
        }
        Ok(value)
    }

    fn tags(&mut self, column: Column) -> Result<Vec<String>, String> {
        self.text(column)?;
        self.row.tags(column.key)
    }

    fn status(&mut self, column: Column) -> Result<Option<ProductStatus>, String> {
        let Some(name) = self.text(column)? else {
            return Ok(None);
        };
        ProductStatus::from_name(&name).map(Some).ok_or_else(|| {
            format!(
                "`{}` is `{name}`; it must be active, draft or archived",
                column.label
            )
        })
    }

    /// The status older shop exports give by `Published` alone: unpublished is a draft.
    fn published(&mut self) -> Result<Option<ProductStatus>, String> {
        let Some(published) = self.text(PUBLISHED)? else {
            return Ok(None);
        };
        match published.to_ascii_lowercase().as_str() {
            "true" => Ok(Some(ProductStatus::Active)),
            "false" => Ok(Some(ProductStatus::Draft)),
            _ => Err(format!(
                "`{}` is `{published}`; it must be TRUE or FALSE",
                PUBLISHED.label
            )),
        }
    }
}

/// A cell's trimmed text; `None` when the column is absent or the cell blank.
fn text(row: &Row, column: Column) -> Result<Option<String>, String> {
    row.optional(column.key)
}

fn required(row: &Row, column: Column) -> Result<String, String> {
    text(row, column)?.ok_or_else(|| format!("`{}` is empty", column.label))
}

/// A price cell: a decimal number with a dot, kept as written.
fn price(row: &Row, column: Column) -> Result<Option<String>, String> {
    match text(row, column)? {
        Some(value) if !is_decimal(&value) => Err(format!(
            "`{}` is `{value}`, not a price: write a number such as 19.99, \
             without currency or thousands separators",
            column.label
        )),
        value => Ok(value),
    }
}

/// Digits, optionally followed by a dot and more digits.
fn is_decimal(text: &str) -> bool {
    let all_digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    match text.split_once('.') {
        Some((whole, fraction)) => all_digits(whole) && all_digits(fraction),
        None => all_digits(text),
    }
}

fn stock(row: &Row, column: Column) -> Result<Option<i64>, String> {
    let Some(value) = text(row, column)? else {
        return Ok(None);
    };
    value.parse().map(Some).map_err(|_| {
        format!(
            "`{}` is `{value}`, not a whole number of items in stock",
            column.label
        )
    })
}

/// The inventory quantity, unless the export says inventory is not tracked (a blank
/// tracker): the quantity of an untracked variant is not what is in stock.
fn shop_stock(row: &Row) -> Result<Option<i64>, String> {
    let untracked = row.has(INVENTORY_TRACKER.key) && text(row, INVENTORY_TRACKER)?.is_none();
    if untracked {
        return Ok(None);
    }
    stock(row, INVENTORY_QTY)
}

/// `Option1 Name` to `Option3 Name`, filled from the first: values are matched to
/// names by position, so a gap would pair them wrongly.
fn shop_option_names(row: &Row) -> Result<Vec<String>, String> {
    let mut names = Vec::new();
    for (position, &column) in OPTION_NAMES.iter().enumerate() {
        match text(row, column)? {
            Some(name) if names.len() == position => names.push(name),
            Some(_) => {
                let missing = OPTION_NAMES[names.len()].label;
                return Err(format!(
                    "`{}` is set but `{missing}` is empty; name options from the first",
                    column.label
                ));
            }
            None => {}
        }
    }
    Ok(names)
}

/// Drops the shop export's `Title: Default Title` placeholder of a product that has no
/// real options.
fn without_default_option(
    names: Vec<String>,
    values: Vec<Option<String>>,
) -> (Vec<String>, Vec<Option<String>>) {
    let (default_name, default_value) = DEFAULT_OPTION;
    let values_are_default = match values.split_first() {
        Some((first, rest)) => {
            first.as_deref() == Some(default_value) && rest.iter().all(Option::is_none)
        }
        None => false,
    };
    let names_are_default = names.is_empty() || names == [default_name];
    if values_are_default && names_are_default {
        return (Vec::new(), vec![None; values.len()]);
    }
    (names, values)
}

/// `Color=Blue; Size=M` as (name, value) pairs in the order written.
fn parse_options(text: &str) -> Result<Vec<(String, String)>, String> {
    let mut options: Vec<(String, String)> = Vec::new();
    for part in text.split(';').map(str::trim).filter(|p| !p.is_empty()) {
        let pair = part
            .split_once('=')
            .map(|(name, value)| (name.trim(), value.trim()));
        let Some((name, value)) = pair.filter(|(n, v)| !n.is_empty() && !v.is_empty()) else {
            return Err(format!(
                "`{}` has `{part}`, which is not Name=Value \
                 (write options like Color=Blue; Size=M)",
                OPTIONS.label
            ));
        };
        if options.iter().any(|(known, _)| known == name) {
            return Err(format!("`{}` names `{name}` twice", OPTIONS.label));
        }
        options.push((name.to_owned(), value.to_owned()));
    }
    Ok(options)
}

/// Body HTML as the plain text a customer would read on the product page.
fn html_to_text(body: &str) -> String {
    render(&html::parse(body).blocks)
}

/// Products in the order their first rows appear.
#[derive(Default)]
struct Catalog {
    products: Vec<Draft>,
    /// Position in `products`, by id.
    index: HashMap<String, usize>,
}

/// A product being assembled from its rows.
struct Draft {
    product: Product,
    first_line: u64,
    first_cells: Vec<(&'static str, String)>,
    /// The line of each variant, by option values, to report repeats.
    variant_lines: HashMap<Vec<String>, u64>,
}

impl Catalog {
    fn add(&mut self, row: ProductRow, line: u64) -> Result<(), String> {
        let index = match self.index.get(&row.id) {
            Some(&index) => {
                self.products[index].check_consistent(&row)?;
                index
            }
            None => {
                let draft = Draft::start(&row, line)?;
                self.index.insert(row.id.clone(), self.products.len());
                self.products.push(draft);
                self.products.len() - 1
            }
        };
        match row.variant {
            Some(variant) => self.products[index].add_variant(variant, line),
            None => Ok(()),
        }
    }
}

impl Draft {
    fn start(row: &ProductRow, line: u64) -> Result<Draft, String> {
        let head = &row.head;
        let Some(title) = head.title.clone() else {
            return Err(format!(
                "product `{}` has no title: its first row must carry the product's title \
                 and fields (the rows after it may repeat only the id)",
                row.id
            ));
        };
        let product = Product {
            id: row.id.clone(),
            title,
            description: head.description.clone().unwrap_or_default(),
            vendor: head.vendor.clone(),
            product_type: head.product_type.clone(),
            tags: head.tags.clone(),
            url: head.url.clone(),
            status: head.status.unwrap_or_default(),
            options: row.option_names.clone(),
            variants: Vec::new(),
        };
        Ok(Draft {
            product,
            first_line: line,
            first_cells: row.cells.clone(),
            variant_lines: HashMap::new(),
        })
    }

    /// A later row may repeat the first row's product fields and option names, not
    /// change them: the first row is the one that counts, and silently ignoring a
    /// different value would hide a mistake in the file.
    fn check_consistent(&self, row: &ProductRow) -> Result<(), String> {
        let (id, first) = (&self.product.id, self.first_line);
        for (label, value) in &row.cells {
            match self.first_cells.iter().find(|(l, _)| l == label) {
                Some((_, first_value)) if first_value == value => {}
                Some((_, first_value)) => {
                    return Err(format!(
                        "`{label}` is `{value}` here but `{first_value}` on line {first}, \
                         the first row of `{id}`; a product's fields are read from its \
                         first row"
                    ))
                }
                None => {
                    return Err(format!(
                        "`{label}` is set here but not on line {first}, the first row of \
                         `{id}`; give a product's fields on its first row"
                    ))
                }
            }
        }
        if !row.option_names.is_empty() && row.option_names != self.product.options {
            return Err(format!(
                "the options are named {} here but {} on line {first}, the first row of \
                 `{id}`",
                names_list(&row.option_names),
                names_list(&self.product.options)
            ));
        }
        Ok(())
    }

    fn add_variant(&mut self, variant: VariantRow, line: u64) -> Result<(), String> {
        let option_values = self.option_values(variant.option_values)?;
        if let Some(first) = self.variant_lines.get(&option_values) {
            let which = if option_values.is_empty() {
                "it has no options, so it can have only one variant".to_owned()
            } else {
                format!("options {}", option_values.join(" / "))
            };
            return Err(format!(
                "duplicate variant of `{}` ({which}; first at line {first})",
                self.product.id
            ));
        }
        self.variant_lines.insert(option_values.clone(), line);
        self.product.variants.push(ProductVariant {
            sku: variant.sku,
            option_values,
            price: variant.price,
            compare_at_price: variant.compare_at_price,
            stock: variant.stock,
            barcode: variant.barcode,
        });
        Ok(())
    }

    /// Exactly one value per option name of the product.
    fn option_values(&self, values: Vec<Option<String>>) -> Result<Vec<String>, String> {
        let names = &self.product.options;
        let mut kept = Vec::with_capacity(names.len());
        for (position, value) in values.into_iter().enumerate() {
            match (names.get(position), value) {
                (Some(_), Some(value)) => kept.push(value),
                (Some(name), None) => {
                    return Err(format!("the variant has no value for option `{name}`"))
                }
                (None, Some(value)) => {
                    return Err(format!(
                        "the variant has a value `{value}` for option {} but `{}` names \
                         only {} on its first row",
                        position + 1,
                        self.product.id,
                        options_count(names.len())
                    ))
                }
                (None, None) => {}
            }
        }
        if let Some(name) = names.get(kept.len()) {
            return Err(format!("the variant has no value for option `{name}`"));
        }
        Ok(kept)
    }
}

fn names_list(names: &[String]) -> String {
    if names.is_empty() {
        "nothing".to_owned()
    } else {
        names.join(", ")
    }
}

fn options_count(count: usize) -> String {
    match count {
        0 => "no options".to_owned(),
        1 => "1 option".to_owned(),
        n => format!("{n} options"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prices_are_plain_decimals() {
        for good in ["25", "17.99", "0.5", "1000"] {
            assert!(is_decimal(good), "{good}");
        }
        for bad in [
            "", "25.", ".5", "1,299.00", "€25", "-3", "2 5", "1e3", "25,50",
        ] {
            assert!(!is_decimal(bad), "{bad}");
        }
    }

    #[test]
    fn options_are_name_value_pairs() {
        let options = parse_options(" Color = Blue ;Size=M; ").unwrap();
        assert_eq!(
            options,
            [
                ("Color".to_owned(), "Blue".to_owned()),
                ("Size".to_owned(), "M".to_owned())
            ]
        );
        assert!(parse_options("Blue")
            .unwrap_err()
            .contains("not Name=Value"));
        assert!(parse_options("Color=")
            .unwrap_err()
            .contains("not Name=Value"));
        assert!(parse_options("Size=S; Size=M")
            .unwrap_err()
            .contains("twice"));
    }

    #[test]
    fn the_default_title_option_is_no_option() {
        let some = |s: &str| Some(s.to_owned());
        let (names, values) =
            without_default_option(vec!["Title".to_owned()], vec![some("Default Title"), None]);
        assert!(names.is_empty());
        assert!(values.iter().all(Option::is_none));

        let real = without_default_option(vec!["Title".to_owned()], vec![some("Hardcover")]);
        assert_eq!(real.0, ["Title"]);
    }
}
