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

#[test]
fn product_questions_are_answered_from_the_catalog_in_the_shops_currency() {
    let frontdesk = Frontdesk::new();
    frontdesk.ok(&["import", "products", arg(&data("products_shop_export.csv"))]);
    let settings = frontdesk.data_dir().join("frontdesk.toml");
    std::fs::write(&settings, "[assistant]\ncurrency = \"€\"\n").unwrap();

    let price = frontdesk.ask("How much is the example t-shirt?");
    assert_eq!(price["decision"], "answer", "{price}");
    assert_eq!(
        price["sources"][0],
        serde_json::json!({"kind": "product", "id": "example-shirt"})
    );
    let text = price["text"].as_str().unwrap();
    assert!(text.contains("costs €25"), "{text}");

    // The export does not track the t-shirts' inventory: they are sold on demand.
    let stock = frontdesk.ask("do you have the t-shirt in blue, size S?");
    let text = stock["text"].as_str().unwrap();
    assert!(
        text.contains("The Example T-Shirt (Blue, S) is in stock."),
        "{text}"
    );
}
