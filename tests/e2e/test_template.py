"""template.yaml beyond cfn-lint: the dashboard's body is valid JSON once
CloudFormation substitutes it, and it charts the metrics the monitor writes."""

from __future__ import annotations

import json
import re
from pathlib import Path

from cfnlint.decode import decode_str

ROOT = Path(__file__).resolve().parents[2]


def template() -> dict:
    decoded, errors = decode_str((ROOT / "template.yaml").read_text())
    assert not errors, errors
    return decoded


def test_the_dashboard_body_is_json_and_charts_the_monitors_metrics():
    resources = template()["Resources"]
    body_template, variables = resources["Dashboard"]["Properties"]["DashboardBody"]["Fn::Sub"]
    body = body_template.replace("${AWS::Region}", "us-east-1")
    assert set(variables) == {"Monitor", "Period"}
    body = body.replace("${Monitor}", "connection-watch-MonitorFunction-abc").replace("${Period}", "900")
    assert "${" not in body
    widgets = json.loads(body)["widgets"]
    charted = set(re.findall(r'MetricName=\\"(\w+)\\"', json.dumps(widgets)))
    # What src/monitor/deliver/metrics.rs writes.
    assert charted == {"StuckConnections", "StuckHosts", "ScannedConnections", "StuckSyncs"}
    # Every chart's period is the schedule's.
    assert {w["properties"]["period"] for w in widgets} == {900}
    lambda_metrics = {m[1] for w in widgets for m in w["properties"]["metrics"] if m[0] == "AWS/Lambda"}
    assert lambda_metrics == {"Duration", "Errors"}


def test_chat_and_the_pager_alarm_are_created_only_when_configured():
    resources = template()["Resources"]
    assert resources["SlackChannel"]["Condition"] == "HasSlack"
    assert resources["TeamsChannel"]["Condition"] == "HasTeams"
    assert resources["ChatbotChannelRole"]["Condition"] == "HasChat"
    assert resources["StuckConnectionsAlarm"]["Condition"] == "HasStuckAlarm"
    for channel in ("SlackChannel", "TeamsChannel"):
        properties = resources[channel]["Properties"]
        # Alerts, and the monitor's own alarms, which Chatbot renders natively.
        assert properties["SnsTopicArns"] == [{"Ref": "AlertTopic"}, {"Ref": "OperationsTopic"}]
        assert properties["GuardrailPolicies"] == [{"Fn::Sub": "arn:${AWS::Partition}:iam::aws:policy/ReadOnlyAccess"}]
    assert "Policies" not in resources["ChatbotChannelRole"]["Properties"], "notifications need no permission"


def test_organization_wide_the_monitor_gets_the_time_and_memory_its_capacity_needs():
    """docs/development.md, "Scale, measured": what an organization-wide invocation
    reaches at 1,024 MB in 900 s; one account fits 120 s at 128 MB."""
    properties = template()["Resources"]["MonitorFunction"]["Properties"]
    assert properties["MemorySize"] == {"Fn::If": ["HasAccounts", 1024, 128]}
    assert properties["Timeout"] == {"Fn::If": ["HasAccounts", 900, 120]}


def test_the_monitors_alarms_stay_out_of_the_alert_stream():
    """The alert topic's SQS and Lambda subscribers parse one format: the alarms
    notify the operations topic (chat channels, AlarmEmail), never the alert topic."""
    resources = template()["Resources"]
    for alarm in ("MonitorErrorsAlarm", "MonitorBlindAlarm"):
        properties = resources[alarm]["Properties"]
        assert properties["AlarmActions"] == [{"Ref": "OperationsTopic"}], alarm
    [recovered] = resources["MonitorAlarmsRecoveredRule"]["Properties"]["Targets"]
    assert recovered["Arn"] == {"Ref": "OperationsTopic"}
    for name, resource in resources.items():
        if resource["Type"] == "AWS::CloudWatch::Alarm":
            assert {"Ref": "AlertTopic"} not in resource["Properties"].get("AlarmActions", []), name
    assert resources["AlarmEmailSubscription"]["Properties"]["TopicArn"] == {"Ref": "OperationsTopic"}
    assert resources["MonitorFunction"]["Properties"]["Environment"]["Variables"]["DRY_RUN"] == {"Ref": "DryRun"}


def test_list_parameters_refuse_a_typo_at_deploy_time():
    """CloudFormation refuses a value its AllowedPattern does not match, before
    anything is created; each default matches its own pattern."""
    parameters = template()["Parameters"]
    for name, parameter in parameters.items():
        if "AllowedPattern" in parameter and parameter["Type"] == "String":
            assert re.fullmatch(parameter["AllowedPattern"], parameter["Default"]), name
    for name in ("AlertStatuses", "AlertHostStatuses", "MonitorRegions", "Accounts", "ExcludeAccounts"):
        assert "AllowedPattern" in parameters[name], name
    statuses = parameters["AlertStatuses"]["AllowedPattern"]
    for bad in ("PENDING;ERROR", "PENDING, ERROR", "PENDING,", "", "PENDING ERROR"):
        assert not re.fullmatch(statuses, bad), bad
    assert re.fullmatch(statuses, "PENDING,ERROR,SUSPENDED")
    regions = parameters["MonitorRegions"]["AllowedPattern"]
    assert re.fullmatch(regions, "us-east-1,eu-west-1") and re.fullmatch(regions, "")
    for bad in ("us-east-1, eu-west-1", "us-east", "US-EAST-1"):
        assert not re.fullmatch(regions, bad), bad
    email = parameters["AlertEmail"]["AllowedPattern"]
    assert re.fullmatch(email, "ops@example.com") and not re.fullmatch(email, "ops@example")
    used_by = parameters["UsedBy"]["AllowedPattern"]
    for good in ("pipelines", "codebuild", "codebuild,pipelines", "none", "pipelines,codebuild,gitsync",
                 "servicecatalog,gitsync,codebuild,pipelines"):
        assert re.fullmatch(used_by, good), good
    for bad in ("pipeline", "none,codebuild", "pipelines, codebuild", "", "gitsync,gitsync,gitsync,gitsync,gitsync"):
        assert not re.fullmatch(used_by, bad), bad
    used_by_regions = parameters["UsedByRegions"]["AllowedPattern"]
    assert re.fullmatch(used_by_regions, "enabled") and re.fullmatch(used_by_regions, "us-east-1,eu-west-1")
    for bad in ("", "enabled,us-east-1", "us-east-1, eu-west-1"):
        assert not re.fullmatch(used_by_regions, bad), bad
    bus = parameters["EventBus"]["AllowedPattern"]
    assert re.fullmatch(bus, "default") and re.fullmatch(bus, "") and re.fullmatch(bus, "b" * 256)
    assert not re.fullmatch(bus, "b" * 257) and not re.fullmatch(bus, "partner/bus")


def test_every_next_step_has_an_output_and_every_parameter_a_group():
    """What the README tells a user to read after deploying is an output of
    every stack, whatever its parameters: nothing is conditional."""
    outputs = template()["Outputs"]
    for name in ("MonitorFunctionName", "MonitorLogGroupName", "ConnectionResourceLogGroupName",
                 "HowToSubscribe", "HowToSubscribeToAlarms", "AlertTopicArn", "OperationsTopicArn",
                 "DashboardName", "MonitorFailureQueueUrl", "ConnectionResourceServiceToken"):
        assert name in outputs and "Condition" not in outputs[name], name
    assert outputs["HowToSubscribe"]["Value"]["Fn::Sub"].startswith("aws sns subscribe --topic-arn ${AlertTopic} ")
    assert outputs["HowToSubscribeToAlarms"]["Value"]["Fn::Sub"].startswith(
        "aws sns subscribe --topic-arn ${OperationsTopic} ")
    groups = template()["Metadata"]["AWS::CloudFormation::Interface"]["ParameterGroups"]
    grouped = [p for g in groups for p in g["Parameters"]]
    assert sorted(grouped) == sorted(template()["Parameters"]), "every parameter in one group"


def resolve(value, parameters: dict[str, str], mappings: dict):
    """CloudFormation's Ref, FindInMap and Sub of parameters, as a deployment with
    `parameters` would see them; anything else is returned as it is."""
    if isinstance(value, dict) and len(value) == 1:
        [(function, argument)] = value.items()
        if function == "Ref" and argument in parameters:
            return parameters[argument]
        if function == "Fn::FindInMap":
            mapping, key, field = (resolve(a, parameters, mappings) for a in argument)
            return mappings[mapping][key][field]
        if function == "Fn::Sub" and isinstance(argument, str):
            return re.sub(r"\$\{(\w+)\}", lambda m: parameters.get(m.group(1), m.group(0)), argument)
    return value


def test_the_schedule_and_every_alarm_period_follow_schedule_minutes():
    """One parameter sets the schedule, the run alarms' period and RUN_INTERVAL;
    CloudWatch allows a day of evaluation for periods under an hour and seven
    days from an hour (PutMetricAlarm, EvaluationPeriods); this template keeps
    to a day for every period, its own cap (720 minutes)."""
    decoded = template()
    resources, mappings = decoded["Resources"], decoded["Mappings"]
    allowed = decoded["Parameters"]["ScheduleMinutes"]["AllowedValues"]
    assert sorted(mappings["Schedule"], key=int) == sorted(allowed, key=int)
    # The run alarms follow the schedule; the failure queue and the connection
    # resource are read every five minutes, whatever it is.
    every_five = {"MonitorFailureQueueAlarm", "ConnectionResourceErrorsAlarm"}
    alarms = {n: r["Properties"] for n, r in resources.items()
              if r["Type"] == "AWS::CloudWatch::Alarm" and n not in every_five}
    assert len(alarms) == 3
    assert all(resources[n]["Properties"]["Period"] == 300 for n in every_five)
    # Every allowed value, the edge included: 720 minutes makes exactly 86,400 s.
    for minutes in allowed:
        parameters = {**{k: str(p.get("Default", "")) for k, p in decoded["Parameters"].items()},
                      "ScheduleMinutes": minutes}
        monitor = resources["MonitorFunction"]["Properties"]
        schedule = resolve(monitor["Events"]["Schedule"]["Properties"]["Schedule"], parameters, mappings)
        assert schedule == f"rate({minutes} minutes)"
        assert resolve(monitor["Environment"]["Variables"]["RUN_INTERVAL"], parameters, mappings) == f"{minutes}m"
        for name, alarm in alarms.items():
            periods = [alarm["Period"]] if "Period" in alarm else [
                m["MetricStat"]["Period"] for m in alarm["Metrics"] if "MetricStat" in m]
            for period in periods:
                seconds = int(resolve(period, parameters, mappings))
                assert seconds == int(minutes) * 60, name
                assert seconds * alarm["EvaluationPeriods"] <= 86_400, name
    for name in ("StuckConnectionsAlarm", "MonitorBlindAlarm"):
        # Missing data is never OK, and a stack just created (INSUFFICIENT_DATA
        # from the start) notifies nobody until its first run.
        assert alarms[name]["TreatMissingData"] == "missing", name
        assert alarms[name]["InsufficientDataActions"], name
        assert (alarms[name]["EvaluationPeriods"], alarms[name]["DatapointsToAlarm"]) == (2, 1), name
    assert alarms["StuckConnectionsAlarm"]["MetricName"] == "Stuck", "the pager counts hosts and synced stacks too"


def rule_allows(rule: dict, parameters: dict[str, str]) -> bool:
    """Evaluates a Rules entry of Fn::Equals, Fn::Contains, Fn::Not, Fn::And and
    Fn::Or over parameter values."""
    def evaluate(expression):
        [(function, argument)] = expression.items()
        if function in ("Fn::Not", "Fn::And", "Fn::Or"):
            values = [evaluate(a) for a in argument]
            return {"Fn::Not": lambda: not values[0], "Fn::And": lambda: all(values),
                    "Fn::Or": lambda: any(values)}[function]()
        if function == "Fn::Equals":
            left, right = (a if isinstance(a, str) else parameters[a["Ref"]] for a in argument)
            return left == right
        if function == "Fn::Contains":
            values, reference = argument
            return parameters[reference["Ref"]] in values
        raise AssertionError(f"no evaluator for {function}")
    if "RuleCondition" in rule and not evaluate(rule["RuleCondition"]):
        return True
    return all(evaluate(a["Assert"]) for a in rule["Assertions"])


def test_retry_on_resolved_without_pipelines_is_refused_at_deploy_time():
    decoded = template()
    rule = decoded["Rules"]["RetryOnResolvedNeedsPipelines"]
    used_by = decoded["Parameters"]["UsedBy"]["AllowedPattern"]
    spellings = ["pipelines", "codebuild", "gitsync", "servicecatalog"]
    # Every spelling the pattern allows without repeating a kind, with and without pipelines.
    from itertools import permutations
    every = {",".join(p) for n in (1, 2, 3, 4) for p in permutations(spellings, n)} | {"none"}
    assert all(re.fullmatch(used_by, u) for u in every)
    for value in every:
        assert rule_allows(rule, {"RetryOnResolved": "true", "UsedBy": value}) == ("pipelines" in value.split(",")), value
        assert rule_allows(rule, {"RetryOnResolved": "false", "UsedBy": value}), value
    assert "UsedBy" in rule["Assertions"][0]["AssertDescription"]


def test_git_sync_failures_invoke_the_monitor_for_both_spellings_and_only_with_git_sync():
    resources = template()["Resources"]
    for rule, kind, template_input in [
        ("GitSyncFailedRule", "Resource", '{"syncs": [{"region": "<region>", "resourceName": "<stack>"}]}'),
        ("GitSyncRepositoryFailedRule", "Repository",
         '{"syncs": [{"region": "<region>", "repositoryLinkId": <link>, "branch": <branch>}]}'),
    ]:
        rule_resource = resources[rule]
        assert rule_resource["Condition"] == "WatchesGitSync"
        pattern = rule_resource["Properties"]["EventPattern"]
        assert pattern["source"] == ["aws.codeconnections"]
        assert sorted(pattern["detail-type"]) == [f"Git Sync {kind} Sync Status Change",
                                                  f"GitSync {kind} Sync Status Change"]
        assert pattern["detail"] == {"status": ["FAILED"]}
        [target] = rule_resource["Properties"]["Targets"]
        assert target["Arn"] == {"Fn::GetAtt": ["MonitorFunction", "Arn"]}
        assert target["InputTransformer"]["InputTemplate"] == template_input
        permission = next(r for r in resources.values() if r["Type"] == "AWS::Lambda::Permission"
                          and r["Properties"].get("SourceArn") == {"Fn::GetAtt": [rule, "Arn"]})
        assert permission["Condition"] == "WatchesGitSync"
    paths = resources["GitSyncRepositoryFailedRule"]["Properties"]["Targets"][0]["InputTransformer"]["InputPathsMap"]
    assert paths == {"region": "$.region", "link": "$.detail.repositoryLinkId", "branch": "$.detail.branch"}
    env = resources["MonitorFunction"]["Properties"]["Environment"]["Variables"]
    assert env["GIT_SYNC"] == {"Ref": "GitSync"}


def alarm_state_change(alarm: str, previous: str, state: str) -> dict:
    """A CloudWatch Alarm State Change event as the CloudWatch User Guide's
    "Alarm events and EventBridge" shows it, cut to what rules read."""
    arn = f"arn:aws:cloudwatch:us-east-1:123456789012:alarm:{alarm}"
    return {
        "version": "0", "id": "c4c1c1c9-6542-e61b-6ef0-8c4d36933a92",
        "detail-type": "CloudWatch Alarm State Change", "source": "aws.cloudwatch",
        "account": "123456789012", "time": "2026-12-07T05:04:40Z", "region": "us-east-1",
        "resources": [arn],
        "detail": {"alarmName": alarm,
                   "state": {"value": state, "reason": "Threshold Crossed", "timestamp": "2026-12-07T05:04:40.000+0000"},
                   "previousState": {"value": previous, "reason": "Unchecked: Initial alarm creation",
                                     "timestamp": "2026-12-07T04:04:40.000+0000"}},
    }


def test_a_healthy_first_deploy_notifies_nobody_and_a_recovery_from_alarm_is_told(aws):
    """A new alarm starts in INSUFFICIENT_DATA and the first run moves it to OK:
    OK actions would message the operations topic then. The operations alarms
    have none; the recovery rule, matched by EventBridge's TestEventPattern,
    tells only ALARM to OK, as a chat custom notification."""
    import jsonschema

    resources = template()["Resources"]
    operations = ("MonitorErrorsAlarm", "MonitorBlindAlarm", "MonitorFailureQueueAlarm",
                  "ConnectionResourceErrorsAlarm")
    for alarm in operations:
        assert "OKActions" not in resources[alarm]["Properties"], alarm
        assert resources[alarm]["Properties"]["AlarmActions"] == [{"Ref": "OperationsTopic"}], alarm
    rule = resources["MonitorAlarmsRecoveredRule"]["Properties"]
    pattern = json.loads(json.dumps(rule["EventPattern"]), object_hook=lambda node: (
        f"arn:aws:cloudwatch:us-east-1:123456789012:alarm:{node['Fn::GetAtt'][0]}"
        if "Fn::GetAtt" in node else node))
    events = aws.client("events")

    def matches(event: dict) -> bool:
        return events.test_event_pattern(EventPattern=json.dumps(pattern), Event=json.dumps(event))["Result"]

    for alarm in operations:
        assert matches(alarm_state_change(alarm, "ALARM", "OK")), alarm
        assert not matches(alarm_state_change(alarm, "INSUFFICIENT_DATA", "OK")), "the first run"
        assert not matches(alarm_state_change(alarm, "OK", "ALARM")), "told by AlarmActions"
    assert not matches(alarm_state_change("someone-elses-alarm", "ALARM", "OK"))

    transformer = rule["Targets"][0]["InputTransformer"]
    event = alarm_state_change("MonitorErrorsAlarm", "ALARM", "OK")
    message = transformer["InputTemplate"]
    for name, path in transformer["InputPathsMap"].items():
        value = event
        for part in path[2:].split("."):
            value = value[part]
        message = message.replace(f"<{name}>", value)
    schema = json.loads((ROOT / "tests" / "chatbot-custom-notification.schema.json").read_text())
    jsonschema.validate(json.loads(message), schema)
    assert "MonitorErrorsAlarm is OK again" in message


def test_the_blind_alarm_reads_every_count_of_what_a_run_could_not_see():
    """FailedRegions, FailedAccounts and UnreadKinds (the monitor's metrics.rs),
    summed: a denied Git sync read in one region is blindness too."""
    metrics = template()["Resources"]["MonitorBlindAlarm"]["Properties"]["Metrics"]
    [expression] = [m for m in metrics if "Expression" in m]
    read = {m["Id"]: m["MetricStat"]["Metric"]["MetricName"] for m in metrics if "MetricStat" in m}
    assert sorted(read.values()) == ["FailedAccounts", "FailedRegions", "UnreadKinds"]
    assert sorted(expression["Expression"].split(" + ")) == sorted(read)
    source = (ROOT / "src" / "monitor" / "deliver" / "metrics.rs").read_text()
    assert '&["FailedRegions", "FailedAccounts", "UnreadKinds"]' in source


def test_event_runs_are_bounded_by_reserved_concurrency_which_an_account_can_turn_off():
    doc = template()
    parameter = doc["Parameters"]["MonitorConcurrency"]
    assert (parameter["Default"], parameter["MinValue"]) == (2, 0)
    function = doc["Resources"]["MonitorFunction"]["Properties"]
    assert function["ReservedConcurrentExecutions"] == {
        "Fn::If": ["ReservesConcurrency", {"Ref": "MonitorConcurrency"}, {"Ref": "AWS::NoValue"}]}
    assert doc["Conditions"]["ReservesConcurrency"] == {"Fn::Not": [{"Fn::Equals": [{"Ref": "MonitorConcurrency"}, 0]}]}


def test_half_a_chat_set_up_is_refused_at_deploy_time():
    """HasSlack and HasTeams need every ID: a Slack workspace without a channel,
    or a Teams tenant without a team, would otherwise create nothing, silently."""
    rules = template()["Rules"]
    slack, teams = rules["SlackNeedsWorkspaceAndChannel"], rules["TeamsNeedsTenantTeamAndChannel"]
    ids = {"SlackWorkspaceId": "T0123ABCD", "SlackChannelId": "C0123ABCD", "TeamsTenantId": "t",
           "TeamsId": "team", "TeamsChannelId": "19:abc@thread.tacv2"}
    none = dict.fromkeys(ids, "")
    assert rule_allows(slack, none) and rule_allows(teams, none)
    assert rule_allows(slack, ids) and rule_allows(teams, ids)
    for only in ("SlackWorkspaceId", "SlackChannelId"):
        assert not rule_allows(slack, {**none, only: ids[only]}), only
    for missing in ("TeamsTenantId", "TeamsId", "TeamsChannelId"):
        assert not rule_allows(teams, {**ids, missing: ""}), missing
        assert rule_allows(slack, {**ids, missing: ""}), "Teams' IDs are not Slack's"


ACCOUNT_WIDE_NAMES = {
    # Names CloudFormation refuses twice in one account, whatever the region:
    # "All dashboards in your account are global, not region-specific"
    # (CloudWatch API reference, PutDashboard); Chatbot configurations belong
    # to the account, not a region; IAM names are global too.
    "AWS::CloudWatch::Dashboard": "DashboardName",
    "AWS::Chatbot::SlackChannelConfiguration": "ConfigurationName",
    "AWS::Chatbot::MicrosoftTeamsChannelConfiguration": "ConfigurationName",
    "AWS::IAM::Role": "RoleName",
    "AWS::IAM::ManagedPolicy": "ManagedPolicyName",
}


def test_a_second_region_of_the_same_stack_name_clashes_with_nothing():
    """One deploy per account by design, but the same stack name deployed in a
    second region must not collide: every account-wide name this template sets
    differs between two regions, and names nothing else account-wide."""
    resources = template()["Resources"]
    named = {n: r["Properties"][ACCOUNT_WIDE_NAMES[r["Type"]]] for n, r in resources.items()
             if r["Type"] in ACCOUNT_WIDE_NAMES and ACCOUNT_WIDE_NAMES[r["Type"]] in r.get("Properties", {})}
    assert set(named) == {"Dashboard", "SlackChannel", "TeamsChannel"}, named

    def resolved(name, region: str) -> str:
        text = name["Fn::Sub"]
        for key, value in {"AWS::StackName": "connection-watch", "AWS::Region": region}.items():
            text = text.replace("${" + key + "}", value)
        assert "${" not in text, text
        return text

    first = {n: resolved(v, "us-east-1") for n, v in named.items()}
    second = {n: resolved(v, "eu-west-1") for n, v in named.items()}
    assert not set(first.values()) & set(second.values()), (first, second)
    assert len(set(first.values())) == len(first), "Slack and Teams differ too"
    # Chatbot's ConfigurationName is at most 128 characters (botocore's chatbot
    # model, ConfigurationName): the longest region name leaves a stack name of 100.
    assert all(len(resolved(named[c], "ap-southeast-5").replace("connection-watch", "s" * 100)) <= 128
               for c in ("SlackChannel", "TeamsChannel"))
