"""Delivery channels. channels/specs.py names every adapter explicitly (no discovery by file name):
adding a channel is one module plus one entry there and its settings in the channels config."""
from __future__ import annotations

import importlib
import json
from collections.abc import Mapping
from pathlib import Path

from channels.base import Channel
from channels.specs import CHANNELS


def channel_class(name: str) -> type:
    module, _, cls = CHANNELS[name].adapter.partition(":")
    return getattr(importlib.import_module(module), cls)


def build_channels(config: Mapping[str, Mapping[str, str]]) -> dict[str, Channel]:
    """`config` is {channel name: that adapter's from_config keys}; channels absent from it are off."""
    unknown = sorted(set(config) - set(CHANNELS))
    if unknown:
        raise ValueError(f"unknown channel(s) in the configuration: {', '.join(unknown)}")
    return {name: channel_class(name).from_config(values) for name, values in config.items()}


def load_config(path: str) -> dict[str, dict[str, str]]:
    if not path:
        return {}
    data = json.loads(Path(path).read_text())
    if not isinstance(data, dict) or not all(isinstance(v, dict) for v in data.values()):
        raise ValueError(f"{path}: expected a JSON object of channel name -> settings object")
    return {name: {key: str(value) for key, value in values.items()} for name, values in data.items()}
