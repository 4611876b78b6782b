//! Product catalog import: a shop's product export as spreadsheets leave it, Frontdesk's
//! own layout, and each kind of bad file the owner may upload.

// Wrapped in `import` so that `cargo test -p frontdesk-knowledge import` selects these.
mod import {
    use std::path::{Path, PathBuf};

    use frontdesk_core::{Product, ProductStatus, ProductVariant};
    use frontdesk_knowledge::import::{products_from_str, read_products, ImportError};

    fn data(name: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/data/import/products")
            .join(name)
    }

    /// The error for `text` read as `products.csv`, which must fail.
    fn error(text: &str) -> String {
        match products_from_str(Path::new("products.csv"), text) {
            Ok(products) => panic!("expected an error, got {products:?}"),
            Err(e) => e.to_string(),
        }
    }

    fn products(text: &str) -> Vec<Product> {
        products_from_str(Path::new("products.csv"), text).expect("valid products")
    }

    fn option_values(product: &Product) -> Vec<String> {
        product
            .variants
            .iter()
            .map(|v| v.option_values.join("/"))
            .collect()
    }

    /// The shop's own sample catalog after a round trip through a spreadsheet: CRLF line
    /// ends, barcodes turned into `3.65275E+11`, variant rows that repeat only the handle.
    fn shop_export() -> Vec<Product> {
        read_products(&data("shop_export_excel.csv")).expect("valid export")
    }

    #[test]
    fn shop_export_groups_rows_into_three_products() {
        let products = shop_export();
        let ids: Vec<&str> = products.iter().map(|p| p.id.as_str()).collect();
        assert_eq!(ids, ["example-shirt", "example-pants", "example-hat"]);
        let statuses: Vec<ProductStatus> = products.iter().map(|p| p.status).collect();
        assert_eq!(
            statuses,
            [
                ProductStatus::Active,
                ProductStatus::Draft,
                ProductStatus::Archived
            ]
        );
    }

    #[test]
    fn shop_export_variant_rows_inherit_the_first_row() {
        let shirt = &shop_export()[0];
        assert_eq!(shirt.title, "Example T-Shirt");
        assert!(
            shirt
                .description
                .starts_with("This t-shirt is as simple as it gets. Easy to wear"),
            "{}",
            shirt.description
        );
        assert!(!shirt.description.contains('<'), "HTML is reduced to text");
        assert_eq!(shirt.vendor.as_deref(), Some("Acme"));
        assert_eq!(shirt.product_type.as_deref(), Some("Shirts"));
        assert_eq!(shirt.tags, ["Made to Order", "Shirt Tag"]);
        assert_eq!(shirt.url, None);
        assert_eq!(shirt.options, ["Color", "Size"]);

        let expected: Vec<String> = ["Green", "Blue", "Gray", "Purple"]
            .iter()
            .flat_map(|color| ["S", "M", "L"].map(|size| format!("{color}/{size}")))
            .collect();
        assert_eq!(option_values(shirt), expected, "12 variants in file order");
        assert_eq!(
            shirt.variants[0],
            ProductVariant {
                sku: Some("SRT_COT_111".to_string()),
                option_values: vec!["Green".to_string(), "S".to_string()],
                price: Some("25".to_string()),
                compare_at_price: None,
                // The export tracks no inventory for the shirt: its 0 is not a stock level.
                stock: None,
                barcode: Some("3.65275E+11".to_string()),
            }
        );
        assert_eq!(shirt.variants[11].barcode.as_deref(), Some("7.38293E+11"));
    }

    #[test]
    fn shop_export_image_rows_add_no_variant() {
        let pants = &shop_export()[1];
        assert_eq!(pants.options, ["Size"]);
        assert_eq!(option_values(pants), ["28", "30", "40"]);
        let stock: Vec<Option<i64>> = pants.variants.iter().map(|v| v.stock).collect();
        assert_eq!(stock, [Some(20), Some(15), Some(10)]);
        assert_eq!(pants.variants[0].price.as_deref(), Some("95"));
        assert_eq!(pants.variants[0].compare_at_price.as_deref(), Some("64.95"));
    }

    #[test]
    fn shop_export_default_title_is_no_option() {
        let hat = &shop_export()[2];
        assert!(hat.options.is_empty());
        assert_eq!(hat.variants.len(), 1);
        let variant = &hat.variants[0];
        assert!(variant.option_values.is_empty());
        assert_eq!(variant.sku.as_deref(), Some("HAT_GRY_275"));
        assert_eq!(variant.price.as_deref(), Some("17.99"));
        assert_eq!(variant.compare_at_price.as_deref(), Some("22.99"));
        assert_eq!(variant.stock, Some(50));
        assert_eq!(hat.tags, ["Hat Tag"]);
    }

    #[test]
    fn shop_export_without_status_reads_published() {
        let text = "Handle,Title,Published,Variant Price\n\
                    a,A,FALSE,1\n\
                    b,B,true,2\n\
                    c,C,,3\n";
        let statuses: Vec<ProductStatus> = products(text).iter().map(|p| p.status).collect();
        assert_eq!(
            statuses,
            [
                ProductStatus::Draft,
                ProductStatus::Active,
                ProductStatus::Active
            ]
        );
    }

    #[test]
    fn own_layout_groups_rows_by_id() {
        let products = read_products(&data("catalog.csv")).expect("valid file");
        assert_eq!(products.len(), 2);
        let tee = &products[0];
        assert_eq!(tee.id, "tee");
        assert_eq!(tee.title, "Classic tee");
        assert_eq!(
            tee.description,
            "Soft cotton, cut for everyday wear.\nMachine washable."
        );
        assert_eq!(tee.url.as_deref(), Some("https://shop.example/tee"));
        assert_eq!(tee.tags, ["cotton", "basics"]);
        assert_eq!(tee.vendor.as_deref(), Some("Acme"));
        assert_eq!(tee.product_type.as_deref(), Some("Shirts"));
        assert_eq!(tee.status, ProductStatus::Active);
        assert_eq!(tee.options, ["Color", "Size"]);
        assert_eq!(option_values(tee), ["Blue/M", "Blue/L", "Red/M"]);
        assert_eq!(
            tee.variants[0],
            ProductVariant {
                sku: Some("TEE-BL-M".to_string()),
                option_values: vec!["Blue".to_string(), "M".to_string()],
                price: Some("25.00".to_string()),
                compare_at_price: Some("30".to_string()),
                stock: Some(4),
                barcode: Some("0012345678905".to_string()),
            }
        );
        assert_eq!(tee.variants[2].price.as_deref(), Some("27.50"));
        assert_eq!(tee.variants[2].stock, None);

        let mug = &products[1];
        assert_eq!(mug.status, ProductStatus::Draft);
        assert!(mug.options.is_empty());
        assert_eq!(mug.variants.len(), 1);
        assert_eq!(mug.variants[0].price.as_deref(), Some("9.5"));
        assert_eq!(mug.vendor, None);
    }

    #[test]
    fn own_layout_needs_only_id_and_title() {
        let read = products("ID;Title\nbook;A book\n");
        assert_eq!(read[0].title, "A book");
        assert_eq!(read[0].status, ProductStatus::Active);
        assert_eq!(read[0].variants.len(), 1);
        assert_eq!(read[0].variants[0].price, None);
    }

    #[test]
    fn missing_header_columns_are_named() {
        assert_eq!(
            error("id,name,price\ntee,Tee,5\n"),
            "products.csv:1: missing column `title` (found: id, name, price)"
        );
        assert_eq!(
            error("Handle,Variant Price\ntee,5\n"),
            "products.csv:1: missing column `title` (found: Handle, Variant Price)"
        );
        assert_eq!(
            error("sku,name\nx,y\n"),
            "products.csv:1: missing column `id` (found: sku, name)"
        );
    }

    #[test]
    fn variant_row_before_any_title_is_refused() {
        let text = "Handle,Title,Option1 Name,Option1 Value,Variant Price\n\
                    tee,,Size,S,5\n\
                    tee,Tee,,M,5\n";
        assert_eq!(
            error(text),
            "products.csv:2: product `tee` has no title: its first row must carry the \
             product's title and fields (the rows after it may repeat only the id)"
        );
    }

    #[test]
    fn non_numeric_prices_and_stock_are_refused() {
        let cases = [
            (
                "id,title,price\na,A,€25\n",
                "products.csv:2: `price` is `€25`, not a price: write a number such as \
                 19.99, without currency or thousands separators",
            ),
            (
                "id,title,compare_at_price\na,A,\"1,299.00\"\n",
                "products.csv:2: `compare_at_price` is `1,299.00`, not a price: write a \
                 number such as 19.99, without currency or thousands separators",
            ),
            (
                "Handle,Title,Variant Price\na,A,ten\n",
                "products.csv:2: `Variant Price` is `ten`, not a price: write a number \
                 such as 19.99, without currency or thousands separators",
            ),
            (
                "id,title,stock\na,A,2.5\n",
                "products.csv:2: `stock` is `2.5`, not a whole number of items in stock",
            ),
            (
                "Handle,Title,Variant Price,Variant Inventory Tracker,Variant Inventory Qty\n\
                 a,A,1,shopify,lots\n",
                "products.csv:2: `Variant Inventory Qty` is `lots`, not a whole number of \
                 items in stock",
            ),
        ];
        for (text, expected) in cases {
            assert_eq!(error(text), expected);
        }
    }

    #[test]
    fn duplicate_variants_name_both_lines() {
        let text = "id,title,options\n\
                    tee,Tee,Size=S\n\
                    tee,,Size=M\n\
                    tee,,Size=S\n";
        assert_eq!(
            error(text),
            "products.csv:4: duplicate variant of `tee` (options S; first at line 2)"
        );
        let text = "id,title,price\nmug,Mug,5\nmug,,6\n";
        assert_eq!(
            error(text),
            "products.csv:3: duplicate variant of `mug` (it has no options, so it can \
             have only one variant; first at line 2)"
        );
        let text = "Handle,Title,Option1 Name,Option1 Value,Variant Price\n\
                    hat,Hat,Title,Default Title,5\n\
                    hat,,,Default Title,6\n";
        assert!(error(text).starts_with("products.csv:3: duplicate variant of `hat`"));
    }

    #[test]
    fn options_must_match_the_first_row() {
        let cases = [
            (
                "id,title,options\ntee,Tee,Size=S\ntee,,Color=Red\n",
                "products.csv:3: the options are named Color here but Size on line 2, \
                 the first row of `tee`",
            ),
            (
                "id,title,options\ntee,Tee,Size=S\ntee,,\n",
                "products.csv:3: the variant has no value for option `Size`",
            ),
            (
                "id,title,options\ntee,Tee,Size\n",
                "products.csv:2: `options` has `Size`, which is not Name=Value \
                 (write options like Color=Blue; Size=M)",
            ),
            (
                "Handle,Title,Option1 Name,Option1 Value,Option2 Value,Variant Price\n\
                 tee,Tee,Size,S,,5\ntee,,,M,Red,5\n",
                "products.csv:3: the variant has a value `Red` for option 2 but `tee` \
                 names only 1 option on its first row",
            ),
        ];
        for (text, expected) in cases {
            assert_eq!(error(text), expected);
        }
    }

    #[test]
    fn later_rows_may_not_contradict_the_first() {
        let text = "id,title,status\ntee,Tee,active\ntee,Tee,draft\n";
        assert_eq!(
            error(text),
            "products.csv:3: `status` is `draft` here but `active` on line 2, the first \
             row of `tee`; a product's fields are read from its first row"
        );
        let text = "id,title,vendor\ntee,Tee,\ntee,,Acme\n";
        assert_eq!(
            error(text),
            "products.csv:3: `vendor` is set here but not on line 2, the first row of \
             `tee`; give a product's fields on its first row"
        );
    }

    #[test]
    fn unknown_status_is_refused() {
        assert_eq!(
            error("id,title,status\na,A,sold out\n"),
            "products.csv:2: `status` is `sold out`; it must be active, draft or archived"
        );
    }

    #[test]
    fn empty_files_have_no_products() {
        for text in ["", "\n\n", "id,title,price\n", "id,title\n,\n"] {
            assert_eq!(error(text), "products.csv: no products found", "{text:?}");
        }
    }

    #[test]
    fn empty_id_is_refused() {
        assert_eq!(error("id,title\n,A\n"), "products.csv:2: `id` is empty");
    }

    #[test]
    fn only_csv_files_are_read() {
        let e: ImportError =
            read_products(Path::new("/nonexistent/products.json")).expect_err("unsupported");
        assert_eq!(
            e.to_string(),
            "/nonexistent/products.json: unsupported file type `.json` (expected .csv)"
        );
    }
}
