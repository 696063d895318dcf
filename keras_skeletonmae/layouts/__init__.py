"""Skeleton layouts: joints, bones and body parts; built-ins, a registry for your own, and
conversion of data between layouts, and guessing a file's layout."""

from keras_skeletonmae.layouts import builtin
from keras_skeletonmae.layouts.conversion import (
    CONVERSIONS,
    conversion_report,
    convert_layout,
    supported_targets,
)
from keras_skeletonmae.layouts.guess import guess_layout
from keras_skeletonmae.layouts.layout import (
    SkeletonLayout,
    get_layout,
    layout_to_config_value,
    list_layouts,
    register_layout,
)

__all__ = [
    "CONVERSIONS",
    "SkeletonLayout",
    "conversion_report",
    "convert_layout",
    "get_layout",
    "guess_layout",
    "layout_to_config_value",
    "list_layouts",
    "register_layout",
    "supported_targets",
]
