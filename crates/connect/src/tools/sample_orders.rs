//! `sample_orders.find_order`: the sample store data shipped with Parley
//! (`data/sample_orders.yaml`, orders 1001 to 1010), found by order number or by the phone
//! number on the order. What the demo agent uses; a real store uses its shop's own API.

use std::sync::OnceLock;

use parley_agent::tools::ToolOutcome;
use serde::Deserialize;
use serde_json::{json, Map, Value};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Order {
    number: u32,
    customer: String,
    phone: String,
    status: String,
    items: Vec<String>,
    placed: String,
    detail: String,
    #[serde(default)]
    balance_cents: u64,
}

fn orders() -> &'static [Order] {
    static ORDERS: OnceLock<Vec<Order>> = OnceLock::new();
    ORDERS.get_or_init(|| serde_yaml_ng::from_str(include_str!("../../data/sample_orders.yaml")).expect("the sample orders parse (a unit test checks)"))
}

fn digits(v: &str) -> String {
    v.chars().filter(char::is_ascii_digit).collect()
}

fn arg(args: &Map<String, Value>, name: &str) -> Option<String> {
    match args.get(name)? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Finds an order by `number`, or else by `phone` (the most recent order on that number).
pub fn find_order(args: &Map<String, Value>) -> ToolOutcome {
    let by_number = arg(args, "number").map(|n| digits(&n)).filter(|n| !n.is_empty());
    let by_phone = arg(args, "phone").map(|p| digits(&p)).filter(|p| p.len() >= 7);
    let found = match (by_number, by_phone) {
        (Some(n), _) => orders().iter().find(|o| o.number.to_string() == n),
        (None, Some(p)) => orders().iter().filter(|o| digits(&o.phone) == p).max_by_key(|o| o.number),
        (None, None) => None,
    };
    let Some(o) = found else { return ToolOutcome::Done { outcome: "not_found".into(), data: json!({}) } };
    let last_name = o.customer.rsplit(' ').next().unwrap_or_default();
    ToolOutcome::Done {
        outcome: "found".into(),
        data: json!({
            "number": o.number,
            "customer": o.customer,
            "last_name": last_name,
            "status": o.status,
            "items": o.items,
            "placed": o.placed,
            "detail": o.detail,
            "balance_cents": o.balance_cents,
            "summary": format!("order {} ({}), {}", o.number, o.customer, o.status),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn find(args: Value) -> ToolOutcome {
        find_order(args.as_object().unwrap())
    }

    #[test]
    fn by_number_or_by_the_phone_number_on_the_order() {
        assert_eq!(orders().len(), 10);
        let ToolOutcome::Done { outcome, data } = find(json!({"number": "1004"})) else { panic!() };
        assert_eq!((outcome.as_str(), data["customer"].as_str(), data["last_name"].as_str()), ("found", Some("Dana Smith"), Some("Smith")));
        let ToolOutcome::Done { data, .. } = find(json!({"number": 1002})) else { panic!() };
        assert_eq!(data["balance_cents"], 4990);
        let ToolOutcome::Done { data, .. } = find(json!({"phone": "+1 555 010 0007"})) else { panic!() };
        assert_eq!(data["number"], 1007);
        for missing in [json!({"number": "2099"}), json!({"phone": "+15559999999"}), json!({}), json!({"number": ""})] {
            assert!(matches!(find(missing), ToolOutcome::Done { outcome, .. } if outcome == "not_found"));
        }
    }
}
