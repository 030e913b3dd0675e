"""ARM JSON templates: ``Microsoft.CognitiveServices/accounts/deployments`` resources, evaluated statically.

Found: top-level resources (a list, or the symbolic-name object of ``languageVersion`` 2.0), child resources nested in
an account, ``copy`` loops with ``copyIndex()``, ``condition``, and inline nested deployments
(``Microsoft.Resources/deployments`` with ``properties.template``). Values come from literals, ``parameters('…')``
(the parameter file beside the template, ``<name>.parameters.json``, else ``defaultValue``) and ``variables('…')``.
Template expressions (``"[…]"``) are parsed by a small recursive-descent parser of the ARM expression grammar;
functions that need deployment-time data become ``Unknown``. A template compiled from a Bicep file that sits beside
it is skipped: the Bicep source is scanned instead.

One module a step: expression.py (parse an expression), evaluate.py (values), scan.py (pins).
"""

from __future__ import annotations

from shared.iac.arm.scan import scan_arm

__all__ = ["scan_arm"]
