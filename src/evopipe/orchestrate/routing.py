"""Routing: which pipeline answers a request — a cascade of stages, each able to decide or pass.

1. ``rules``: explicit rules on the event type and fields (``{event: push, fields: {branch:
   "^hotfix/"}}``);
2. ``keywords``: rules on the request's words or a regular expression;
3. ``retrieval``: BM25 over the candidates' names, descriptions and tags; it decides when the
   best score clears the fitted threshold with a margin over the second;
4. ``intent``: a model picks among the retrieved candidates (or "none") with a confidence that
   must clear its own fitted threshold;
5. otherwise ``none``: no match (the application may then generate a pipeline).

Each stage is one object behind :class:`Stage`, listed in :data:`STAGES`. Every decision keeps
the trail of every stage consulted (candidates, scores, threshold, reason).
"""

from __future__ import annotations

import itertools
import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from evopipe.orchestrate.search import TextIndex, terms


@dataclass(frozen=True)
class Candidate:
    """A pipeline the router may choose: a registered name or a shipped library pattern."""

    name: str
    description: str = ""
    tags: tuple[str, ...] = ()
    origin: str = "registry"


@dataclass(frozen=True)
class Rule:
    """Route to ``target`` when every given condition holds (regexes match anywhere)."""

    target: str
    event: str | None = None
    fields: Mapping[str, str] = field(default_factory=dict)
    keywords: tuple[str, ...] = ()
    pattern: str | None = None

    @property
    def explicit(self) -> bool:
        return self.event is not None or bool(self.fields)


@dataclass(frozen=True)
class RouteRequest:
    text: str
    event: str | None = None
    fields: Mapping[str, Any] = field(default_factory=dict)
    key: str | None = None
    """Who asks (a user, a repository): canaries are sticky per key."""


@dataclass(frozen=True)
class Scored:
    name: str
    score: float

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "score": round(self.score, 4)}


@dataclass(frozen=True)
class Step:
    """What one stage saw and concluded."""

    stage: str
    candidates: tuple[Scored, ...]
    choice: str | None
    threshold: float | None
    reason: str
    ms: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "stage": self.stage,
            "candidates": [c.to_json() for c in self.candidates],
            "choice": self.choice,
            "threshold": self.threshold,
            "reason": self.reason,
            "ms": round(self.ms, 3),
        }


@dataclass(frozen=True)
class Decision:
    request: RouteRequest
    trail: tuple[Step, ...]

    @property
    def final(self) -> Step:
        return self.trail[-1]

    @property
    def choice(self) -> str | None:
        return self.final.choice

    @property
    def stage(self) -> str:
        return self.final.stage if self.choice is not None else "none"

    def to_json(self) -> dict[str, Any]:
        top = self.final.candidates[0].score if self.final.candidates else None
        return {
            "request": self.request.text,
            "stage": self.stage,
            "choice": self.choice,
            "score": top,
            "threshold": self.final.threshold,
            "reason": self.final.reason,
            "trail": [s.to_json() for s in self.trail],
        }


class IntentChooser(Protocol):
    """Picks one of ``names`` for ``text`` (or None) with a confidence in [0, 1]."""

    async def choose(
        self, text: str, candidates: Sequence[Candidate]
    ) -> tuple[str | None, float]: ...


@dataclass(frozen=True)
class Thresholds:
    retrieval: float = 4.0
    """Smallest BM25 score the retrieval stage decides on by itself."""
    margin: float = 1.15
    """The best retrieval score must beat the second by this factor."""
    intent: float = 0.5
    """Smallest model confidence accepted."""
    floor: float = 1.0
    """Below this best retrieval score the request is off-catalog without asking a model."""


@dataclass
class Context:
    candidates: Sequence[Candidate]
    rules: Sequence[Rule]
    thresholds: Thresholds
    index: TextIndex
    chooser: IntentChooser | None
    retrieved: tuple[Scored, ...] = ()


class Stage(Protocol):
    name: str

    async def decide(self, request: RouteRequest, ctx: Context) -> Step | None:
        """A step (with or without a choice) or None when the stage does not apply."""


class RuleStage:
    name = "rules"

    async def decide(self, request: RouteRequest, ctx: Context) -> Step | None:
        for rule in ctx.rules:
            if rule.explicit and _fields_match(rule, request):
                return Step(self.name, (Scored(rule.target, 1.0),), rule.target, None, _why(rule))
        return None


class KeywordStage:
    name = "keywords"

    async def decide(self, request: RouteRequest, ctx: Context) -> Step | None:
        words = set(terms(request.text))
        hits: dict[str, float] = {}
        for rule in ctx.rules:
            if rule.explicit:
                continue
            score = float(sum(1 for k in rule.keywords if k.lower() in words))
            if rule.pattern and re.search(rule.pattern, request.text, re.IGNORECASE):
                score += 1.0
            if score:
                hits[rule.target] = max(hits.get(rule.target, 0.0), score)
        if not hits:
            return None
        ranked = tuple(sorted((Scored(n, s) for n, s in hits.items()), key=lambda c: -c.score))
        if len(ranked) > 1 and ranked[1].score == ranked[0].score:
            return Step(self.name, ranked, None, None, "tie between keyword rules: passing on")
        return Step(self.name, ranked, ranked[0].name, None, "keyword/regex rule matched")


class RetrievalStage:
    name = "retrieval"

    async def decide(self, request: RouteRequest, ctx: Context) -> Step:
        found = ctx.index.search(request.text, k=5)
        ranked = tuple(Scored(ctx.candidates[i].name, s) for i, s in found)
        ctx.retrieved = ranked
        th = ctx.thresholds
        if not ranked:
            return Step(self.name, ranked, None, th.retrieval, "no candidate shares a word")
        best = ranked[0].score
        second = ranked[1].score if len(ranked) > 1 else 0.0
        if best >= th.retrieval and best >= th.margin * second:
            why = f"best score {best:.2f} >= {th.retrieval} and beats the next by {th.margin}x"
            return Step(self.name, ranked, ranked[0].name, th.retrieval, why)
        return Step(self.name, ranked, None, th.retrieval, f"best score {best:.2f}: not decisive")


class IntentStage:
    name = "intent"

    async def decide(self, request: RouteRequest, ctx: Context) -> Step | None:
        th = ctx.thresholds
        shortlist = [c for c in ctx.retrieved if c.score >= th.floor]
        if ctx.chooser is None or not shortlist:
            return None
        by_name = {c.name: c for c in ctx.candidates}
        offered = [by_name[c.name] for c in shortlist]
        choice, confidence = await ctx.chooser.choose(request.text, offered)
        ranked = (Scored(choice or "none", confidence),)
        if choice is None or choice not in by_name:
            return Step(self.name, ranked, None, th.intent, "the model chose none of them")
        if confidence < th.intent:
            why = f"the model chose {choice} with confidence {confidence:.2f} < {th.intent}"
            return Step(self.name, ranked, None, th.intent, why)
        why = f"the model chose {choice} with confidence {confidence:.2f}"
        return Step(self.name, ranked, choice, th.intent, why)


STAGES: tuple[Stage, ...] = (RuleStage(), KeywordStage(), RetrievalStage(), IntentStage())
"""The cascade, in order: the first stage that makes a choice wins."""


class Router:
    """Routes requests over a fixed set of candidates and rules (build once, route many)."""

    def __init__(
        self,
        candidates: Sequence[Candidate],
        rules: Sequence[Rule] = (),
        *,
        thresholds: Thresholds | None = None,
        chooser: IntentChooser | None = None,
        stages: Sequence[Stage] = STAGES,
    ) -> None:
        unique: dict[str, Candidate] = {}
        for c in candidates:  # the first of a name wins (registry before library)
            unique.setdefault(c.name, c)
        self.candidates = list(unique.values())
        self.rules = list(rules)
        for rule in self.rules:
            if rule.pattern:
                re.compile(rule.pattern)
        self.thresholds = thresholds or Thresholds()
        self.chooser = chooser
        self.stages = tuple(stages)
        self.index = TextIndex([(c.name, c.description, " ".join(c.tags)) for c in self.candidates])

    async def route(self, request: RouteRequest | str) -> Decision:
        req = RouteRequest(request) if isinstance(request, str) else request
        ctx = Context(self.candidates, self.rules, self.thresholds, self.index, self.chooser)
        trail: list[Step] = []
        for stage in self.stages:
            started = time.perf_counter()
            step = await stage.decide(req, ctx)
            if step is None:
                continue
            step = _timed(step, (time.perf_counter() - started) * 1000)
            trail.append(step)
            if step.choice is not None:
                return Decision(req, tuple(trail))
        trail.append(Step("none", ctx.retrieved, None, None, "no stage found a match"))
        return Decision(req, tuple(trail))

    def close(self) -> None:
        self.index.close()


def fit_threshold(scores: Sequence[tuple[float, bool]]) -> float:
    """The threshold that best separates correct decisions (True) from wrong ones / off-catalog
    requests (False) on a labelled set: accept ``score >= threshold``. Ties go to the lower."""
    if not scores:
        raise ValueError("fit_threshold needs labelled scores")
    values = sorted({s for s, _ in scores})
    cuts = [values[0]] + [(a + b) / 2 for a, b in itertools.pairwise(values)]
    cuts.append(values[-1] + 1.0)

    def accuracy(cut: float) -> int:
        return sum(1 for s, good in scores if (s >= cut) == good)

    return max(cuts, key=lambda c: (accuracy(c), -c))


def _fields_match(rule: Rule, request: RouteRequest) -> bool:
    if rule.event is not None and rule.event != request.event:
        return False
    for key, pattern in rule.fields.items():
        value = request.fields.get(key)
        if value is None or not re.search(pattern, str(value)):
            return False
    return True


def _why(rule: Rule) -> str:
    parts = [f"event == {rule.event}"] if rule.event else []
    parts += [f"{k} ~ /{v}/" for k, v in rule.fields.items()]
    return "explicit rule: " + " and ".join(parts)


def _timed(step: Step, ms: float) -> Step:
    return Step(step.stage, step.candidates, step.choice, step.threshold, step.reason, ms)
