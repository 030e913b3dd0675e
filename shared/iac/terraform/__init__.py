"""Terraform: ``azurerm_cognitive_deployment`` and ``azapi_resource`` deployments, parsed by python-hcl2.

python-hcl2's Lark parse tree keeps every token's position, so a literal keeps the span of its text. A directory
is a module: its ``variable`` defaults, ``locals``, ``terraform.tfvars`` / ``*.auto.tfvars`` (always loaded) and
each other ``*.tfvars`` (a separate ``-var-file`` run each) give the values; ``for_each`` over a map or set and
``count`` produce one pin per instance; a local ``module`` call binds its arguments to the called module's
variables, so a version literal in the caller's map is reported where it is. Anything known only at apply time
(data sources, module outputs, ``path.*``) becomes ``Unknown`` naming the expression.

One module a step: load.py (parse), evaluate.py (values), scan.py (pins).
"""

from __future__ import annotations

from shared.iac.terraform.scan import scan_terraform

__all__ = ["scan_terraform"]
