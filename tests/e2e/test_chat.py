"""What a Slack or Teams channel subscribed to the alert topic through AWS
Chatbot receives: the `https` entry, an AWS Chatbot custom notification,
checked against a JSON Schema written from the Chatbot administrator guide."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import jsonschema
import pytest

from tests.e2e.test_lifecycle import scheduled, table, T0, at  # noqa: F401 (fixture)

SCHEMA = json.loads((Path(__file__).parents[1] / "chatbot-custom-notification.schema.json").read_text())
HOSTILE = ["`<!here>` **x**", "app\n  Open: https://ev.il", "rev\u202eesrever", "[a](https://ev.il)"]


def chat_messages(aws, topic_arn) -> list[dict]:
    messages = [json.loads(body) for _subject, body in aws.protocol_view(topic_arn, "https")]
    for message in messages:
        jsonschema.validate(message, SCHEMA)
    return messages


def test_a_split_alert_is_a_valid_custom_notification_per_message(aws, codestar, lambda_function):
    topic_arn, _queue = aws.topic_with_queue(f"alerts-{uuid.uuid4().hex[:8]}")
    for region in ("us-east-1", "eu-west-1", "ap-southeast-2"):
        codestar.seed(region, 100, "PENDING", name_prefix="a-connection-with-a-long-name")
    monitor = lambda_function("monitor", {"ALERT_TOPIC_ARN": topic_arn})

    result = monitor.invoke({})

    assert result.ok, result.body
    assert result.body["messagesPublished"] > 1, "the alert was split"
    messages = chat_messages(aws, topic_arn)
    assert len(messages) == result.body["messagesPublished"]
    assert {m["metadata"]["threadId"] for m in messages} == {"connection-watch-123456789012"}, "one thread"
    assert all(m["content"]["title"].endswith(f"/{len(messages)}]") for m in messages)
    assert all("more: see the e-mail" in m["content"]["description"] for m in messages), "cut with how many more"


def test_hostile_names_stay_inline_code(aws, codestar, lambda_function):
    topic_arn, _queue = aws.topic_with_queue(f"alerts-{uuid.uuid4().hex[:8]}")
    for name in HOSTILE:
        [arn] = codestar.seed("us-east-1", 1, "ERROR", name_prefix="x")
        codestar.get(arn).name = name
    codestar.add_host("us-east-1", "ghe", status="VPC_CONFIG_FAILED_INITIALIZATION", status_message="`@channel`")
    monitor = lambda_function("monitor", {"ALERT_TOPIC_ARN": topic_arn})

    assert monitor.invoke({}).ok
    [message] = chat_messages(aws, topic_arn)
    description = message["content"]["description"]
    # No line, link, mention or reordering escapes the code spans.
    assert "\u202e" not in description and "\n  Open: https://ev.il" not in description
    assert "`[a](https://ev.il)`" in description and "`ˋ<!here>ˋ **x**`" in description
    assert "`ˋ@channelˋ`" in description, "a host's status message too"
    assert any("VPC" in step for step in message["content"]["nextSteps"])


def test_lifecycle_updates_land_in_the_same_thread(aws, codestar, lambda_function, table):  # noqa: F811
    topic_arn, _queue = aws.topic_with_queue(f"alerts-{uuid.uuid4().hex[:8]}")
    [pending] = codestar.seed("us-east-1", 1, "PENDING")
    monitor = lambda_function("monitor", {"ALERT_TOPIC_ARN": topic_arn, "STATE_TABLE": table})
    assert monitor.invoke(scheduled(T0)).ok
    codestar.set_status(pending, "AVAILABLE")
    assert monitor.invoke(scheduled(at(1))).ok

    first, resolved = chat_messages(aws, topic_arn)
    assert first["metadata"]["threadId"] == resolved["metadata"]["threadId"]
    assert "**New**" in first["content"]["description"]
    assert "resolved (was `PENDING`)" in resolved["content"]["description"]
    assert resolved["content"]["nextSteps"] == ["Nothing to do: everything listed is resolved."]


@pytest.mark.parametrize("document", [
    {"version": "1", "source": "custom", "content": {"description": "x"}},
    {"version": "1.0", "source": "aws.codepipeline", "content": {"description": "x"}},
    {"version": 1, "account": "123456789012", "connections": []},
])
def test_the_schema_refuses_what_chatbot_drops(document):
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(document, SCHEMA)
