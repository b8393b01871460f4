#[test]
fn declaration_errors() {
    let cases = trybuild::TestCases::new();
    cases.compile_fail("tests/fail/*/*.rs");
}

#[test]
fn declarations_that_compile() {
    let cases = trybuild::TestCases::new();
    cases.pass("tests/pass/*.rs");
}

/// Every preset, declared by name with its required keys (the catalog's examples), compiles
/// and makes a provider of the kind its scope says: the declarations are generated from the
/// catalog, so a preset added without a working declaration fails here.
#[test]
fn every_preset_declaration_compiles() {
    use oauth_clients_spec::presets::PRESETS;
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("presets");
    std::fs::create_dir_all(&dir).unwrap();
    let cases = trybuild::TestCases::new();
    for preset in PRESETS {
        let keys: Vec<String> = preset
            .params
            .iter()
            .filter(|param| param.required)
            .map(|param| (param.key, param.example))
            .chain(preset.requires.iter().copied())
            .map(|(key, example)| format!("{key}: {example:?}"))
            .collect();
        let declaration = if keys.is_empty() {
            preset.name.to_string()
        } else {
            format!("{} {{ {} }}", preset.name, keys.join(", "))
        };
        let openid = preset.scope().iter().any(|s| s == "openid");
        // Only OpenID Connect providers have `parse_id_token`: calling it checks the kind.
        let kind_check = if openid {
            format!(
                "let _ = Providers::{}().parse_id_token(&token, None);",
                preset.name
            )
        } else {
            String::new()
        };
        let source = format!(
            "use oauth_clients::oauth_clients;\n\
             oauth_clients! {{ {declaration} }}\n\
             #[allow(unused)]\n\
             fn check(token: oauth_clients::Token) {{\n\
                 let client = Providers::{name}();\n\
                 let _ = client.get(\"x\", &token);\n\
                 {kind_check}\n\
             }}\n\
             fn main() {{}}\n",
            name = preset.name,
        );
        let path = dir.join(format!("{}.rs", preset.name));
        std::fs::write(&path, source).unwrap();
        cases.pass(&path);
    }
}
