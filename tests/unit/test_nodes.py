"""Which nodes `transcrawl worker` runs for which queues, and what the translate node is called."""

from __future__ import annotations

import socket

from foundation.settings import Settings
from transcrawl.nodes import node_name, split_queues, translate_hostname, translate_settings


def test_translate_queues_go_to_the_translate_node() -> None:
    assert split_queues(["extract", "translate", "store"]) == (["extract", "store"], ["translate"])
    assert split_queues(["extract", "store", "translate.zh", "translate.ja"]) == \
        (["extract", "store"], ["translate.zh", "translate.ja"])
    assert split_queues(["translate"]) == ([], ["translate"])
    assert split_queues(["translated-elsewhere"]) == (["translated-elsewhere"], [])


def test_the_translate_node_is_named_after_its_worker() -> None:
    assert translate_hostname(None) == "celery-translate@%h"
    assert translate_hostname("w1@%h") == "w1-translate@%h"
    assert translate_hostname("w1@box") == "w1-translate@box"
    assert node_name(["-Q", "translate", "--hostname", "w1-translate@%h"]) == f"w1-translate@{socket.gethostname()}"
    assert node_name([]) == f"celery@{socket.gethostname()}"


def test_the_translate_node_serves_metrics_on_the_next_port() -> None:
    assert translate_settings(Settings(metrics_port=9100)).metrics_port == 9101
    assert translate_settings(Settings(metrics_port=0)).metrics_port == 0
