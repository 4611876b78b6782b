//! `frontdesk import products`: a shop's product export imports with its variants,
//! importing it again changes nothing, and a bad file is refused whole.

use crate::support::{arg, data, Frontdesk};

/// The number of products `knowledge stats --json` reports.
fn product_count(frontdesk: &Frontdesk) -> u64 {
    let stats = frontdesk.json(&["knowledge", "stats", "--json"]);
    let products = stats
        .as_array()
        .expect("stats are a list")
        .iter()
        .find(|row| row["kind"] == "product");
    products
        .and_then(|row| row["count"].as_u64())
        .unwrap_or_else(|| panic!("no product count in {stats}"))
}

#[test]
fn shop_export_imports_once_with_its_variants() {
    let frontdesk = Frontdesk::new();
    let export = data("products_shop_export.csv");
    let stdout = frontdesk.ok(&["import", "products", arg(&export)]);
    assert_eq!(
        stdout,
        format!(
            "product: 3 products (16 variants) read from {}: 3 new, 0 updated\n",
            export.display()
        )
    );
    assert_eq!(product_count(&frontdesk), 3);

    let stdout = frontdesk.ok(&["import", "products", arg(&export)]);
    assert!(stdout.ends_with(": 0 new, 0 updated\n"), "{stdout}");
    assert_eq!(product_count(&frontdesk), 3);
}

#[test]
fn bad_product_file_is_refused_whole() {
    let frontdesk = Frontdesk::new();
    frontdesk.ok(&["import", "products", arg(&data("products_shop_export.csv"))]);

    let stderr = frontdesk.fails(&["import", "products", arg(&data("products_bad_price.csv"))]);
    assert!(
        stderr.contains("products_bad_price.csv:3: `price` is `25 EUR`, not a price"),
        "{stderr}"
    );
    assert_eq!(
        product_count(&frontdesk),
        3,
        "nothing of the bad file is stored"
    );
}
