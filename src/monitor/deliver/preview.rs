//! A person's look at one run (docs/reference.md, "A look before
//! deploying"): what was read, what was not, what is stuck, and each message
//! as subscribers would get it. The one renderer: `monitor --once` prints it,
//! and a dry run under Lambda returns it as `look` for `scripts/first-run`.
//! Pure: no I/O.

use crate::monitor::report::RunReport;
use std::fmt::Write;

/// The preview as a person reads it: what was read, what is stuck, then
/// each message as subscribers would get it. An empty preview claims
/// nothing beyond what was read.
pub fn render(report: &RunReport, account: &str, region: &str) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "A dry run of connection-watch for account {account} from {region}: \
         nothing was published, no event put, nothing written."
    );
    let syncs = report
        .syncs_scanned
        .map(|n| format!(", {n} Git-synced stacks"))
        .unwrap_or_default();
    let listed_from = report.listed_from.as_deref().unwrap_or("nowhere");
    let _ = writeln!(
        out,
        "Read: {} connections (listed from {listed_from}), {} hosts{syncs}.",
        report.scanned, report.hosts_scanned
    );
    if !report.git_sync_unavailable.is_empty() {
        let _ = writeln!(
            out,
            "Git sync is not offered by AWS in {}: not read there.",
            report.git_sync_unavailable.join(", ")
        );
    }
    // A count is of what was read: with a kind, region or account unread,
    // the line says so, so that "0" never reads as "nothing anywhere".
    let unread = !report.unread.is_empty();
    // Synced stacks are counted only when they were read at all.
    let stuck_syncs = report
        .syncs_scanned
        .map(|_| {
            let n = report.stuck_syncs.len() + report.suppressed_syncs.as_ref().map_or(0, Vec::len);
            format!(", {n} Git-synced stacks")
        })
        .unwrap_or_default();
    let _ = writeln!(
        out,
        "Stuck{}: {} connections, {} hosts{stuck_syncs} ({} muted by the ignore tag).",
        if unread { " in what was read" } else { "" },
        report.stuck.len() + report.suppressed.as_ref().map_or(0, Vec::len),
        report.stuck_hosts.len() + report.suppressed_hosts.as_ref().map_or(0, Vec::len),
        report.ignored
    );
    let _ = writeln!(out, "{}", access_line(report));
    if unread {
        let places: Vec<String> = report.unread.iter().map(|u| u.place(true)).collect();
        let _ = writeln!(
            out,
            "Not read: {}: nothing is known of them (the error follows).",
            places.join("; ")
        );
    }
    let preview = report.preview.as_deref().unwrap_or_default();
    if preview.is_empty() {
        let _ = writeln!(out, "\nNo message would be sent now.");
    }
    for (i, message) in preview.iter().enumerate() {
        let _ = write!(
            out,
            "\n=== message {} of {} ===\nSubject: {}\n\n{}\n",
            i + 1,
            preview.len(),
            message.subject,
            message.text.trim_end()
        );
    }
    out
}

/// What the access checks reached: a count of denials is of the checks
/// that had a verdict, and the rest are counted beside it.
fn access_line(report: &RunReport) -> String {
    let Some(access) = &report.access else {
        return "Access: not checked (ACCESS_CHECK=false, USED_BY without pipelines or CodeBuild, \
                or no listing)."
            .into();
    };
    let c = &access.access_checks;
    let denied =
        access.access_findings.len() + report.suppressed_access.as_ref().map_or(0, Vec::len);
    let mut line = format!(
        "Access: {} checks of consumers' roles, {denied} denied ({} simulated, {} kept from \
         earlier runs, {} inconclusive, {} not checked)",
        c.checks, c.simulated, c.cached, c.inconclusive, c.not_checked
    );
    if !c.gaps.is_empty() {
        line += &format!(": {}", c.gaps.join("; "));
    }
    line + "."
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::watched::{Kind, KindUnread};
    use crate::monitor::report::Preview;

    #[test]
    fn an_empty_preview_says_what_was_read_and_what_was_not() {
        let report = RunReport {
            scanned: 12,
            listed_from: Some("us-east-1".into()),
            hosts_scanned: 3,
            failed_regions: vec!["eu-west-1".into()],
            unread: vec![KindUnread {
                account: "123456789012".into(),
                region: Some("eu-west-1".into()),
                kind: Kind::Host,
                error: "ListHosts timed out".into(),
            }],
            git_sync_unavailable: vec!["af-south-1".into()],
            preview: Some(Vec::new()),
            ..RunReport::default()
        };
        let text = render(&report, "123456789012", "us-east-1");
        assert!(
            text.contains("Read: 12 connections (listed from us-east-1), 3 hosts."),
            "{text}"
        );
        assert!(
            text.contains("Not read: 123456789012 eu-west-1: nothing"),
            "{text}"
        );
        assert!(
            text.contains("Git sync is not offered by AWS in af-south-1: not read there."),
            "{text}"
        );
        assert!(
            text.contains("Stuck in what was read: 0 connections"),
            "{text}"
        );
        assert!(text.contains("No message would be sent now."), "{text}");
        assert!(
            !text.contains("Git-synced"),
            "synced stacks not read are not counted, not 0: {text}"
        );
    }

    #[test]
    fn access_says_how_far_its_checks_reached_or_that_it_was_not_checked() {
        use crate::monitor::report::{AccessChecks, AccessReport};
        let unchecked = render(&RunReport::default(), "123456789012", "us-east-1");
        assert!(unchecked.contains("Access: not checked ("), "{unchecked}");
        let checked = RunReport {
            access: Some(AccessReport {
                access_findings: Vec::new(),
                access_checks: AccessChecks {
                    checks: 300,
                    simulated: 250,
                    not_checked: 50,
                    gaps: vec!["50 past this run's bound of 250".into()],
                    ..AccessChecks::default()
                },
            }),
            ..RunReport::default()
        };
        let text = render(&checked, "123456789012", "us-east-1");
        assert!(
            text.contains("Access: 300 checks of consumers' roles, 0 denied (250 simulated, 0 kept \
                 from earlier runs, 0 inconclusive, 50 not checked): 50 past this run's bound of 250."),
            "{text}"
        );
    }

    #[test]
    fn each_message_is_shown_with_its_subject() {
        let report = RunReport {
            preview: Some(vec![Preview {
                subject: "1 CodeStar connection needs attention (1 PENDING)".into(),
                text: "web - PENDING\n".into(),
            }]),
            ..RunReport::default()
        };
        let text = render(&report, "123456789012", "us-east-1");
        assert!(text.contains(
            "=== message 1 of 1 ===\nSubject: 1 CodeStar connection needs attention (1 PENDING)\n\nweb - PENDING\n"
        ), "{text}");
        assert!(!text.contains("Not read"), "{text}");
        assert!(text.contains("\nStuck: 0 connections"), "{text}");
    }
}
