"""DANAsign: documents, templates and contacts (``client.documents`` and friends).

The public names are re-exported from :mod:`signing_async`; widget
coordinate helpers live in :mod:`signing_async.danasign.units`.
"""

from . import units
from ._api_tokens import ApiTokens
from ._config import DanaSignConfig
from ._contacts import Contacts
from ._documents import Documents
from ._models import (
    ApiSession,
    BatchResult,
    Contact,
    CreatedDocument,
    DocumentStatus,
    DocumentSummary,
    Template,
    TemplateDocument,
    TemplatePlaceholder,
    TemplateSummary,
    TemplateWidget,
    WhoAmI,
)
from ._provider import DANASIGN
from ._requests import (
    Bcc,
    DocumentMetadata,
    DocumentRequest,
    DocumentSettings,
    IdentityVerification,
    NewContact,
    Placeholder,
    Prefill,
    PrefillOptions,
    Signer,
    TemplateDefault,
    TemplateSigner,
    Widget,
)
from ._templates import Templates

__all__ = [
    "DANASIGN",
    "ApiSession",
    "ApiTokens",
    "BatchResult",
    "Bcc",
    "Contact",
    "Contacts",
    "CreatedDocument",
    "DanaSignConfig",
    "DocumentMetadata",
    "DocumentRequest",
    "DocumentSettings",
    "DocumentStatus",
    "DocumentSummary",
    "Documents",
    "IdentityVerification",
    "NewContact",
    "Placeholder",
    "Prefill",
    "PrefillOptions",
    "Signer",
    "Template",
    "TemplateDefault",
    "TemplateDocument",
    "TemplatePlaceholder",
    "TemplateSigner",
    "TemplateSummary",
    "TemplateWidget",
    "Templates",
    "WhoAmI",
    "Widget",
    "units",
]
