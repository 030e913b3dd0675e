"""The names one instance of a Bicep file sees while it is evaluated: bound parameters, variables, resources,
imports and loop items, each evaluated once (a name that refers to itself is ``Unknown``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from shared.iac.bicep.load import BicepFile, ResourceDecl
from shared.iac.pins import Lit, Span, Unknown, Value
from shared.iac.values import Memo

if TYPE_CHECKING:
    from tree_sitter import Node


class ScopeEvaluator(Protocol):
    """What a scope asks of the evaluator (bicep/evaluate.py's ``BicepEvaluator``) to give a name its value: a
    protocol here, so the scope does not import the evaluator that imports it."""

    def value(self, node: Node | None, scope: BicepScope) -> Value: ...

    def resource(self, decl: ResourceDecl, scope: BicepScope) -> Value: ...

    def imported(self, file: BicepFile, name: str, node: Node, scope: BicepScope) -> Value: ...


class BicepScope:
    """Names visible while evaluating one instance of a file: bound parameters, vars, resources, loop items."""

    def __init__(
        self, evaluator: ScopeEvaluator, file: BicepFile, bound: dict[str, Value], where: str
    ) -> None:
        self.evaluator = evaluator
        self.file = file
        self.bound = bound
        self.where = where  # for notes: "main.bicep", "module openAi (core/ai/cognitiveservices.bicep)"
        self.locals: dict[str, Value] = {}
        self.memo = Memo()  # the root's: parameters, variables and resources are evaluated once per instance
        self.root: BicepScope = self

    def child(self, names: dict[str, Value]) -> BicepScope:
        scope = BicepScope(self.evaluator, self.file, self.bound, self.where)
        scope.locals = {**self.locals, **names}
        scope.root = self.root
        return scope

    def lookup(self, name: str, node: Node) -> Value:
        if name in self.locals:
            return self.locals[name]
        return self.root.memo.get(
            name, lambda: self._resolve(name, node), name, span=lambda: self._span(node)
        )

    def _resolve(self, name: str, node: Node) -> Value:
        file = self.file
        if name in file.params:
            if name in self.bound:
                return self.bound[name]
            default = file.params[name]
            if default is None and name in file.nullable:
                return Lit(None)
            if default is None:
                return Unknown(name, self._span(node), f"parameter without a value in {file.path.name}")
            return self.evaluator.value(default, self.root)
        if name in file.vars:
            return self.evaluator.value(file.vars[name], self.root)
        if name in file.resources:
            return self.evaluator.resource(file.resources[name], self.root)
        if any(m.symbol == name for m in file.modules):
            return Unknown(name, self._span(node), "a module's outputs are known only after deployment")
        if name in file.imports:
            return self.evaluator.imported(file, name, node, self)
        lost = next((x for x in file.lost if x.name == name), None)
        if lost is not None:
            return Unknown(name, self._span(node), f"syntax error at {file.path.name}:{lost.line}")
        return Unknown(name, self._span(node), "not declared")

    def _span(self, node: Node) -> Span:
        return self.file.source.byte_span(node.start_byte, node.end_byte)
