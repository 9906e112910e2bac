"""Reads of the annotation app by concern; every name is importable from annotation.selectors.

- ``projects``: the project list with counts, a scheme's dimensions, the annotations that count.
- ``export``: the streamed export, one JSON line per item (contracts.md); ``export_options``
  reads its filters from a query string or a command's options.
- ``label_columns``: labels as numpy columns, read on a plain cursor (``rows``).
- ``dashboard``: the researcher dashboard's figures, cached while labels arrive.
- ``prelabels``: the items still to pre-label, the pre-label counts and jobs.
"""

from annotation.selectors.dashboard import (
    DASHBOARD_REFRESH_MAX_SECONDS,
    DASHBOARD_REFRESH_MIN_SECONDS,
    MAP_MAX_POINTS,
    MAP_MAX_SOURCES,
    anchoring_figures,
    dashboard_version,
    item_map,
    llm_vs_humans,
    prelabel_figures,
    project_dashboard,
    project_dashboard_cached,
    worker_summaries,
)
from annotation.selectors.export import (
    EXPORT_CHUNK_SIZE,
    EXPORT_ITEM_FIELDS,
    annotations_by_item,
    annotations_for_export,
    items_for_export,
    project_export_lines,
)
from annotation.selectors.export_options import (
    TRUE_WORDS,
    export_filters,
)
from annotation.selectors.label_columns import (
    DASHBOARD_CHUNK_SIZE,
    counts_by_item,
    item_label_counts,
    item_labels_by_id,
    label_matrix,
    read_columns,
)
from annotation.selectors.prelabels import (
    items_pending_prelabel,
    prelabel_jobs,
    prelabel_status,
)
from annotation.selectors.projects import (
    counted_annotations,
    project_dimensions,
    project_item_counts,
    projects_with_counts,
)

__all__ = [
    "projects_with_counts",
    "project_dimensions",
    "project_item_counts",
    "counted_annotations",
    "EXPORT_CHUNK_SIZE",
    "items_for_export",
    "EXPORT_ITEM_FIELDS",
    "annotations_for_export",
    "annotations_by_item",
    "project_export_lines",
    "TRUE_WORDS",
    "export_filters",
    "DASHBOARD_CHUNK_SIZE",
    "read_columns",
    "label_matrix",
    "item_labels_by_id",
    "counts_by_item",
    "item_label_counts",
    "DASHBOARD_REFRESH_MIN_SECONDS",
    "DASHBOARD_REFRESH_MAX_SECONDS",
    "MAP_MAX_POINTS",
    "MAP_MAX_SOURCES",
    "prelabel_figures",
    "anchoring_figures",
    "worker_summaries",
    "llm_vs_humans",
    "item_map",
    "project_dashboard",
    "dashboard_version",
    "project_dashboard_cached",
    "items_pending_prelabel",
    "prelabel_status",
    "prelabel_jobs",
]
