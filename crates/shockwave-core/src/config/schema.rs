//! The JSON Schema of `pipeline.toml`, generated from the serde shapes in `raw` so that it cannot
//! drift from what the parser accepts: a key the parser refuses (`deny_unknown_fields`) is
//! `additionalProperties: false` here, and the field docs are the descriptions editors show.
//! Draft 7, the newest draft taplo (Even Better TOML) validates in full.

use schemars::generate::SchemaSettings;
use schemars::transform::RecursiveTransform;
use schemars::Schema;
use serde_json::Value;

use super::raw::RawConfig;

/// The schema as pretty-printed JSON with a final newline, the exact bytes of
/// `schema/pipeline.schema.json`.
pub fn pipeline_schema() -> String {
    let mut settings = SchemaSettings::draft07();
    settings
        .transforms
        .push(Box::new(RecursiveTransform(drop_null)));
    let schema = settings
        .into_generator()
        .into_root_schema_for::<RawConfig>();
    let mut text =
        serde_json::to_string_pretty(&schema).expect("a generated schema serializes to JSON");
    text.push('\n');
    text
}

/// TOML has no null: an optional key is one that is left out, so the `null` schemars allows
/// for an `Option` goes, and so does a default that holds one (a table whose keys are all
/// optional), which an editor would otherwise offer to write.
fn drop_null(schema: &mut Schema) {
    fn has_null(v: &Value) -> bool {
        match v {
            Value::Null => true,
            Value::Array(items) => items.iter().any(has_null),
            Value::Object(map) => map.values().any(has_null),
            _ => false,
        }
    }
    let Some(obj) = schema.as_object_mut() else {
        return;
    };
    if obj.get("default").is_some_and(has_null) {
        obj.remove("default");
    }
    if let Some(Value::Array(types)) = obj.get_mut("type") {
        types.retain(|t| t != "null");
        if types.len() == 1 {
            let only = types.remove(0);
            obj.insert("type".into(), only);
        }
    }
    if let Some(Value::Array(any)) = obj.get_mut("anyOf") {
        any.retain(|s| s.get("type").is_none_or(|t| t != "null"));
        if any.len() == 1 {
            // `allOf` keeps the description beside the reference (draft 7 ignores keywords
            // next to a `$ref`), as schemars does for a required table.
            let only = any.remove(0);
            obj.remove("anyOf");
            obj.insert("allOf".into(), Value::Array(vec![only]));
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    fn schema() -> Value {
        serde_json::from_str(&super::pipeline_schema()).unwrap()
    }

    #[test]
    fn every_table_refuses_unknown_keys_as_the_parser_does() {
        let schema = schema();
        assert_eq!(schema["additionalProperties"], false);
        for name in ["Workspace", "Target", "Service", "RemoteCache"] {
            assert_eq!(
                schema["definitions"][name]["additionalProperties"], false,
                "{name}"
            );
        }
    }

    #[test]
    fn no_key_is_nullable_since_toml_has_no_null() {
        let text = super::pipeline_schema();
        assert!(!text.contains("\"null\""), "{text}");
        assert!(
            !text.contains("null,") && !text.contains("null\n"),
            "{text}"
        );
    }

    #[test]
    fn the_token_is_not_a_key_an_editor_offers() {
        let schema = schema();
        let keys = schema["definitions"]["RemoteCache"]["properties"]
            .as_object()
            .unwrap();
        assert!(!keys.contains_key("token"), "{keys:?}");
        assert!(keys.contains_key("url"));
    }
}
