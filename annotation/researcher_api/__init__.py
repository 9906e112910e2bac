"""REST API for researchers, by concern; every view is importable from here (api_urls).

- ``projects``: value schemes, projects, their labelling and quality settings.
- ``items``: import and export of items, gold and training roles, attention checks, pre-labels.
- ``quality``: dashboard figures, review queue and adjudication, workers' quality and exclusion.

Each view names its roles; the logic lives in the services, ``annotation.prelabel``,
``annotation.quality``, ``annotation.review`` and the selectors.
"""

from annotation.researcher_api.items import (
    AttentionChecksApi,
    ImportReportSerializer,
    ItemImportApi,
    ItemRoleApi,
    NDJSONRenderer,
    PrelabelStartApi,
    ProjectExportApi,
)
from annotation.researcher_api.projects import (
    SETTINGS_FIELDS,
    ProjectListCreateApi,
    ProjectSettingsApi,
    SchemeListCreateApi,
)
from annotation.researcher_api.quality import (
    AdjudicationApi,
    DashboardApi,
    ReviewQueueApi,
    WorkerExcludeApi,
    WorkerQualityApi,
)

__all__ = [
    "AdjudicationApi",
    "AttentionChecksApi",
    "DashboardApi",
    "ImportReportSerializer",
    "ItemImportApi",
    "ItemRoleApi",
    "NDJSONRenderer",
    "PrelabelStartApi",
    "ProjectExportApi",
    "ProjectListCreateApi",
    "ProjectSettingsApi",
    "ReviewQueueApi",
    "SETTINGS_FIELDS",
    "SchemeListCreateApi",
    "WorkerExcludeApi",
    "WorkerQualityApi",
]
