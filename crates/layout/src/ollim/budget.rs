//! `state/ping_budget.json`: the proactive ping budget (a refill-on-read token bucket).

use serde::Deserialize;

/// The on-disk shape, for the layout's validator (the bucket itself is `dotdir-ping-bucket`).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
#[expect(dead_code, reason = "the fields are only checked for presence and type")]
struct BudgetShape {
    capacity: i64,
    available: f64,
    refill_rate_minutes: i64,
    last_refill: String,
    critical_used: i64,
    critical_reset_date: String,
    daily_used: i64,
    daily_used_reset: String,
}

pub(crate) fn validate_budget(content: &[u8]) -> Result<(), String> {
    let shape: BudgetShape = serde_json::from_slice(content).map_err(|e| e.to_string())?;
    if shape.capacity <= 0 {
        return Err(format!("capacity {} is not positive", shape.capacity));
    }
    if shape.refill_rate_minutes <= 0 {
        return Err(format!("refill_rate_minutes {} is not positive", shape.refill_rate_minutes));
    }
    if !shape.available.is_finite() || shape.available < 0.0 {
        return Err(format!("available {} is negative or not finite", shape.available));
    }
    if jiff::Timestamp::strptime("%Y-%m-%dT%H:%M:%S%.f%:z", &shape.last_refill).is_err()
        && shape.last_refill.parse::<jiff::Timestamp>().is_err()
    {
        return Err(format!(
            "last_refill {:?} is not an ISO datetime with an offset",
            shape.last_refill
        ));
    }
    Ok(())
}
