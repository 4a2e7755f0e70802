"""What a stuck connection breaks, end to end: moto serves CodePipeline,
CodeBuild, Service Catalog and the account's region list, the CodeStar
stand-in the repository links and synced stacks; pipelines name the connection by either service
prefix, a project reaches it through the region's default credential, and the
alert lists exactly what uses it, with what it searched."""

from __future__ import annotations

import json
import uuid

from tests.e2e.test_lifecycle import at, scheduled, table  # noqa: F401 (fixture)

OWN = "123456789012"


def test_a_stuck_connection_lists_exactly_what_uses_it_by_either_prefix(aws, codestar, lambda_function):
    topic_arn, queue_url = aws.topic_with_queue(f"alerts-{uuid.uuid4().hex[:8]}")
    [used, unused] = codestar.seed("us-east-1", 2, "PENDING")
    renamed = used.replace(":codestar-connections:", ":codeconnections:")
    suffix = uuid.uuid4().hex[:6]
    role = aws.service_role()
    aws.pipeline("us-east-1", f"payments-deploy-{suffix}", role, used)
    aws.pipeline("eu-west-1", f"payments-eu-{suffix}", role, renamed)
    aws.pipeline("eu-west-1", f"from-s3-{suffix}", role, None)
    aws.project("eu-west-1", f"payments-build-{suffix}", role, renamed)
    aws.project("us-east-1", f"public-build-{suffix}", role, None)
    monitor = lambda_function("monitor", {"ALERT_TOPIC_ARN": topic_arn, "MONITOR_REGIONS": "us-east-1,eu-west-1",
                                          "USED_BY_REGIONS": "us-east-1,eu-west-1"})

    aws.take_calls()
    result = monitor.invoke({})

    assert result.ok, result.body
    calls = aws.take_calls()
    # One listing of each kind per watched region; a new process reads every pipeline of
    # those regions once (other tests' pipelines share moto), one BatchGetProjects a region.
    existing = sum(len(aws.client("codepipeline", r).list_pipelines()["pipelines"]) for r in ("us-east-1", "eu-west-1"))
    assert {op: n for op, n in calls.items() if op.startswith(("CodePipeline", "CodeBuild"))} == {
        "CodePipeline_20150709.ListPipelines": 2, "CodePipeline_20150709.GetPipeline": existing,
        "CodeBuild_20161006.ListProjects": 2, "CodeBuild_20161006.BatchGetProjects": 2,
        "CodeBuild_20161006.ListSourceCredentials": 2}
    by_arn = {c["arn"]: c for c in result.body["stuck"]}
    found = {(c["kind"], c["name"], c["region"]) for c in by_arn[used]["usedBy"]}
    assert found == {("pipeline", f"payments-deploy-{suffix}", "us-east-1"),
                     ("pipeline", f"payments-eu-{suffix}", "eu-west-1"),
                     ("codebuild-project", f"payments-build-{suffix}", "eu-west-1")}
    assert all(c["account"] == OWN and c["consoleUrl"].startswith("https://") for c in by_arn[used]["usedBy"])
    assert by_arn[unused]["usedBy"] == []
    assert by_arn[unused]["usedByCoverage"] == {
        "kinds": ["pipeline", "codebuild-project", "git-sync-stack", "service-catalog-product"], "regions": 2,
        "allEnabledRegions": False, "unread": []}
    assert "usedByFailed" not in result.body
    [note] = aws.drain(queue_url)
    document = {c["arn"]: c for c in json.loads(note["Message"])["connections"]}
    assert len(document[used]["usedBy"]) == 3
    [(subject, email)] = aws.email_view(topic_arn)
    assert f"  Breaks:   pipeline payments-eu-{suffix} (eu-west-1): https://" in email, email
    assert f"            pipeline payments-deploy-{suffix} (us-east-1): https://" in email, email
    assert f"            CodeBuild project payments-build-{suffix} (eu-west-1): https://" in email, email
    # Two regions named by USED_BY_REGIONS are not every region it is usable from.
    assert ("nothing found among pipelines, CodeBuild projects, Git-synced stacks and Service Catalog products "
            "in 2 regions") in email
    assert "not searched: regions outside USED_BY_REGIONS" in email
    assert "candidate for deletion" not in email
    assert "Breaks" not in subject and len(subject) < 100

    # Warm: the pipelines are unchanged (the same `updated`), so none is read again.
    assert monitor.invoke({}).ok
    assert aws.take_calls()["CodePipeline_20150709.GetPipeline"] == 0


def test_a_quiet_run_looks_nothing_up_and_none_turns_it_off(aws, codestar, lambda_function):
    topic_arn, _queue = aws.topic_with_queue(f"alerts-{uuid.uuid4().hex[:8]}")
    codestar.seed("us-east-1", 3, "AVAILABLE")
    quiet = lambda_function("monitor", {"ALERT_TOPIC_ARN": topic_arn, "MONITOR_REGIONS": "us-east-1",
                                        "ACCESS_CHECK": "false"})
    assert quiet.invoke({}).ok
    aws.take_calls()
    assert quiet.invoke({}).ok
    assert not [c for c in aws.take_calls() if c.startswith("CodePipeline") or c.startswith("CodeBuild")]

    # Checking access reads every connection's consumers on every run, but a warm
    # process reads no unchanged pipeline definition again.
    checking = lambda_function("monitor", {"ALERT_TOPIC_ARN": topic_arn, "MONITOR_REGIONS": "us-east-1",
                                           "USED_BY_REGIONS": "us-east-1"})
    assert checking.invoke({}).ok
    aws.take_calls()
    second = checking.invoke({})
    assert second.ok and second.body["accessChecks"]["checks"] == 0, second.body
    calls = aws.take_calls()
    assert calls["CodePipeline_20150709.ListPipelines"] >= 1 and not calls["CodePipeline_20150709.GetPipeline"], calls

    codestar.seed("us-east-1", 1, "PENDING")
    off = lambda_function("monitor", {"ALERT_TOPIC_ARN": topic_arn, "MONITOR_REGIONS": "us-east-1", "USED_BY": "none"})
    aws.take_calls()
    result = off.invoke({})
    assert result.ok and "usedBy" not in result.body["stuck"][0]
    assert not [c for c in aws.take_calls() if c.startswith("CodePipeline") or c.startswith("CodeBuild")]


def test_with_a_state_table_a_cold_start_reads_no_unchanged_pipeline(aws, codestar, lambda_function, table):
    topic_arn, _queue = aws.topic_with_queue(f"alerts-{uuid.uuid4().hex[:8]}")
    [stuck] = codestar.seed("ap-southeast-2", 1, "ERROR")
    role = aws.service_role()
    suffix = uuid.uuid4().hex[:6]
    for i in range(3):
        aws.pipeline("ap-southeast-2", f"cached-{i}-{suffix}", role, stuck if i == 0 else None)
    env = {"ALERT_TOPIC_ARN": topic_arn, "MONITOR_REGIONS": "ap-southeast-2", "STATE_TABLE": table,
           "REPEAT_INTERVAL": "30m", "USED_BY_REGIONS": "ap-southeast-2"}

    aws.take_calls()
    first = lambda_function("monitor", env).invoke(scheduled(at(0)))
    assert first.ok, first.body
    gets = lambda: aws.take_calls()["CodePipeline_20150709.GetPipeline"]
    assert gets() >= 3
    cache = [i for i in aws.client("dynamodb").scan(TableName=table)["Items"]
             if i["arn"]["S"] == f"pipeline-cache/{OWN}/ap-southeast-2"]
    assert len(cache) == 1 and "expiresAt" in cache[0]

    # A new process (a cold start): the definitions come from the table.
    aws.pipeline("ap-southeast-2", f"cached-new-{suffix}", role, stuck)
    second = lambda_function("monitor", env).invoke(scheduled(at(1)))
    assert second.ok, second.body
    assert gets() == 1, "only the pipeline created since"
    [connection] = [c for c in second.body["stuck"] if c["arn"] == stuck]
    assert connection["state"] == "ongoing"
    assert {c["name"] for c in connection["usedBy"]} == {f"cached-0-{suffix}", f"cached-new-{suffix}"}


def test_a_connection_is_looked_for_in_every_enabled_region_by_every_path(aws, codestar, lambda_function):
    """The default deployment: the stack in us-east-1, MONITOR_REGIONS unset.
    A connection is usable from every region, so its consumers are found in
    ap-southeast-2 and ca-central-1 too: a pipeline, a project through the
    region's default credential, a Git-synced stack. A connection nothing
    uses says so only after all 17 enabled regions were read for every kind
    (with a kind left out, it does not), and even then is no candidate for
    deletion: Service Catalog products are not read yet, and it says so."""
    topic_arn, _queue = aws.topic_with_queue(f"alerts-{uuid.uuid4().hex[:8]}")
    [used, unused] = codestar.seed("us-east-1", 2, "PENDING")
    suffix = uuid.uuid4().hex[:6]
    role = aws.service_role()
    aws.pipeline("ap-southeast-2", f"sydney-deploy-{suffix}", role, used)
    aws.project("eu-central-1", f"defaulted-build-{suffix}", role, None)
    aws.client("codebuild", "eu-central-1").import_source_credentials(
        token=used, serverType="GITHUB", authType="CODECONNECTIONS", shouldOverwrite=True)
    link = codestar.add_repository_link("ca-central-1", used.replace(":codestar-connections:", ":codeconnections:"))
    codestar.add_stack_sync("ca-central-1", link, f"network-{suffix}")
    product = aws.product("eu-north-1", f"payments-catalog-{suffix}", used)
    aws.set_product_sync("eu-north-1", product, "FAILED", "Template file products/payments.yaml not found")
    aws.product("eu-north-1", f"plain-catalog-{suffix}", None)
    monitor = lambda_function("monitor", {"ALERT_TOPIC_ARN": topic_arn})

    aws.take_calls()
    result = monitor.invoke({})

    assert result.ok, result.body
    calls = aws.take_calls()
    # One search a region, one description a product (other tests' products share moto).
    described = sum(len(aws.client("servicecatalog", r).search_products_as_admin()["ProductViewDetails"])
                    for r in ("eu-north-1", "eu-west-1", "us-east-1"))
    assert calls["AWS242ServiceCatalogService.SearchProductsAsAdmin"] == 17
    assert calls["AWS242ServiceCatalogService.DescribeProductAsAdmin"] == described
    aws.client("codebuild", "eu-central-1").delete_project(name=f"defaulted-build-{suffix}")
    aws.client("servicecatalog", "eu-north-1").delete_product(Id=product)
    by_arn = {c["arn"]: c for c in result.body["stuck"]}
    found = {(c["kind"], c["name"], c["region"], c.get("via")) for c in by_arn[used]["usedBy"]}
    assert {("pipeline", f"sydney-deploy-{suffix}", "ap-southeast-2", None),
            ("codebuild-project", f"defaulted-build-{suffix}", "eu-central-1", "account-default-credential"),
            ("git-sync-stack", f"network-{suffix}", "ca-central-1", None),
            ("service-catalog-product", f"payments-catalog-{suffix}", "eu-north-1", None)} <= found, found
    [listed] = [c for c in by_arn[used]["usedBy"] if c["kind"] == "service-catalog-product"]
    assert listed["arn"] == f"arn:aws:catalog:eu-north-1:{OWN}:product/{product}"
    assert (listed["lastSync"]["status"], listed["lastSync"]["message"]) == (
        "FAILED", "Template file products/payments.yaml not found")
    coverage = by_arn[unused]["usedByCoverage"]
    assert (coverage["regions"], coverage["allEnabledRegions"], coverage["unread"]) == (17, True, [])
    # 17 for usedBy, and 1 for the Git sync scan of the watched region (GIT_SYNC's default).
    assert codestar.calls["ListRepositoryLinks"] == 17 + 1
    [(_subject, email)] = aws.email_view(topic_arn)
    assert (f"CodeBuild project defaulted-build-{suffix} (eu-central-1), through the account's default "
            "GitHub credential: https://") in email, email
    assert (f"Git-synced stack network-{suffix} (ca-central-1): https://ca-central-1.console.aws.amazon.com/"
            "cloudformation/") in email, email
    assert (f"Service Catalog product payments-catalog-{suffix} (eu-north-1), its last sync FAILED at ") in email
    assert "(Template file products/payments.yaml not found): https://eu-north-1.console.aws.amazon.com/" in email
    assert ("nothing found: no pipeline, CodeBuild project, Git-synced stack or Service Catalog product in "
            "17 regions (every region enabled for the account) uses it: a candidate for deletion") in email, email

    # A region not enabled is never read: opted out of ap-southeast-2, its pipeline is not looked for.
    aws.set_regions(OWN, {"us-east-1": "ENABLED_BY_DEFAULT", "ap-southeast-2": "DISABLED",
                          "ca-central-1": "ENABLED_BY_DEFAULT"})
    try:
        narrow = lambda_function("monitor", {"ALERT_TOPIC_ARN": topic_arn, "USED_BY": "pipelines,codebuild"})
        result = narrow.invoke({})
    finally:
        aws.set_regions(OWN, {})
    assert result.ok, result.body
    by_arn = {c["arn"]: c for c in result.body["stuck"]}
    assert not [c for c in by_arn[used]["usedBy"] if c["region"] == "ap-southeast-2"]
    assert by_arn[unused]["usedByCoverage"]["regions"] == 2
    [_, (_subject, email)] = aws.email_view(topic_arn)
    assert "not searched: Git-synced stacks and Service Catalog products (not in USED_BY)" in email, email
    assert "candidate for deletion" not in email
