"""Skeleton layouts: joints, bones and body parts; built-ins and a registry for your own."""

from keras_skeletonmae.layouts import builtin
from keras_skeletonmae.layouts.layout import (
    SkeletonLayout,
    get_layout,
    layout_to_config_value,
    list_layouts,
    register_layout,
)

__all__ = [
    "SkeletonLayout",
    "get_layout",
    "layout_to_config_value",
    "list_layouts",
    "register_layout",
]
