"""Bicep: Azure OpenAI deployments found by tree-sitter-bicep and evaluated statically.

Found: ``Microsoft.CognitiveServices/accounts/deployments@…`` resources (top level, nested in an account, in
``[for …]`` loops and behind ``if``), in local modules (the caller's ``params`` bound to the module's parameters, so
a version literal in the caller's array is reported where it is), and the Azure Verified Module
``br/public:avm/res/cognitive-services/account`` (its ``deployments`` parameter). Values come from literals,
``param`` defaults, ``var``s, and the parameter files beside the template: ``<name>.parameters.json`` (azd's
``${VAR=default}`` included) and ``*.bicepparam`` files whose ``using`` names it.
An expression that needs deployment-time data (``resourceGroup().location``, ``uniqueString(…)``, a module output)
becomes ``Unknown`` naming it.

One module a step: load.py (parse; syntax.py rewrites today's syntax the grammar does not know), scope.py and
evaluate.py (values), scan.py (pins).
"""

from __future__ import annotations

from shared.iac.bicep.scan import scan_bicep

__all__ = ["scan_bicep"]
