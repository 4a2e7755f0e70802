//! A denied consumer's lines, as the alert and the inventory show them:
//! its role, what is denied and by which policy, the prefix rename, the
//! statement to add, what was assumed, and the evidence. Pure.

use super::escape::shown;
use crate::domain::access::{AccessFinding, ActionVerdict, Decision, DeniedBy, Evidence};
use std::fmt::Write;

/// What tells the prefix rename apart (docs/reference.md, "Can its
/// consumers use it"), in AWS's words.
const RENAME: &str = "the service prefix rename: the role grants the other prefix's actions, \
and \"the service prefix needs to match that of the resource\"";

/// The finding's lines under a consumer's heading, each indented by two.
pub fn finding_lines(f: &AccessFinding) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "  Role:     {}", shown(&f.role));
    for v in f.actions.iter().filter(|v| v.decision != Decision::Allowed) {
        let _ = writeln!(out, "  {}", decided(v));
    }
    if f.other_prefix_allowed {
        let _ = writeln!(out, "  Cause:    {RENAME}");
    }
    let _ = writeln!(out, "  Fix:      {}", fix(f));
    if !f.assumed.is_empty() {
        let _ = writeln!(out, "  Assumed:  {}", shown(&f.assumed.join(", ")));
    }
    let evidence = match (&f.evidence, &f.observed) {
        (Evidence::Observed, Some(o)) => {
            format!("observed at {}: {}", shown(&o.at), shown(&o.message))
        }
        (Evidence::Observed, None) => "observed".into(),
        (Evidence::Simulated, _) => "simulated".into(),
    };
    let _ = writeln!(out, "  Evidence: {evidence}");
    out
}

/// Where the statement goes: the role, unless a boundary or an SCP is
/// what denies (then a statement in the role alone changes nothing).
fn fix(f: &AccessFinding) -> String {
    let by = |d: DeniedBy| f.actions.iter().any(|v| v.denied_by.as_ref() == Some(&d));
    let statement = statement(&f.fix);
    if by(DeniedBy::Organizations) {
        format!("a service control policy denies it: its administrators must allow it; the role needs {statement}")
    } else if by(DeniedBy::PermissionsBoundary) {
        format!("allow it in the role's permissions boundary, and add to the role {statement}")
    } else {
        format!("add to the role {statement}")
    }
}

/// The fix as a person pastes it, Effect first whatever order the JSON
/// library keeps keys in.
fn statement(fix: &serde_json::Value) -> String {
    format!(
        "{{\"Effect\":\"Allow\",\"Action\":{},\"Resource\":{}}}",
        fix["Action"], fix["Resource"]
    )
}

/// `Denied:   codeconnections:UseConnection (no statement allows it)`.
fn decided(v: &ActionVerdict) -> String {
    let action = shown(&v.action);
    match (&v.decision, &v.denied_by) {
        (Decision::Inconclusive, _) => format!(
            "Unsure:   {action} ({})",
            shown(v.reason.as_deref().unwrap_or("no verdict"))
        ),
        (_, Some(DeniedBy::Organizations)) => {
            format!("Denied:   {action} (by a service control policy)")
        }
        (_, Some(DeniedBy::PermissionsBoundary)) => {
            format!("Denied:   {action} (by the permissions boundary)")
        }
        (_, None) if v.reason.is_some() => format!(
            "Denied:   {action} ({})",
            shown(v.reason.as_deref().unwrap_or_default())
        ),
        (Decision::ExplicitDeny, Some(DeniedBy::Statement { policies })) => format!(
            "Denied:   {action} (by a Deny in {})",
            shown(&policies.join(", "))
        ),
        _ => format!("Denied:   {action} (no statement allows it)"),
    }
}
