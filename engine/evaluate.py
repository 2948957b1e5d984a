"""The only module that imports durable_rules: compile rules to rulesets, assert records as facts, collect results."""

from __future__ import annotations

import datetime as dt
import itertools
import json
import math
from collections import defaultdict
from dataclasses import dataclass

import durable.engine as durable
import durable_rules_engine
import numpy as np
import orjson

from engine import columnar
from engine import conditions as C
from engine import operators as O
from engine.batch import batch_of_records
from engine.errors import EngineError
from engine.lang import tr
from engine.measures import Measure, derive
from engine.model import COMPLIANT, INDETERMINATE, NOT_APPLICABLE, VIOLATION
from engine.params import Parameters

MATCH_BUDGET = 48  # durable_rules rejects a fact matching more than 64 conditions at once (error 303); keep margin
APPLICABLE = "applicable"  # chain rules only: the record is in scope and names its region (not a final state)


class _QuietHost(durable.Host):
    """A Host without the background timer threads: actions run inside assert_fact, on the calling thread."""

    def _run(self):
        pass


def _unused(c):
    """The callable durable_rules wants for each rule at registration (actions run from Evaluation._drain)."""


@dataclass
class _Registered:
    """A ruleset registered with the engine: its name, its compiled rules, and each rule's action (rule id, state,
    alias), or None for the sink."""

    name: str
    compiled: list
    actions: dict


_HOST = None  # one engine host per process: the rulesets it holds are reused across runs (Evaluation._registered)
_REGISTERED: dict = {}  # (chain, ids of the rules) -> (the rules, [_Registered])
MAX_REGISTERED = 256
_NAMES = itertools.count(1)


def _host() -> "_QuietHost":
    global _HOST
    if _HOST is None:
        _HOST = _QuietHost()
    return _HOST


@dataclass
class Outcome:
    """Every (rule, record) state of a run and the measures derived on the way."""

    states: dict  # (rule_id, record index) -> status
    measures: list  # Measure: in force on the as-of date
    lapsed: list  # Lapsed: derived from an assessment, but no longer in force on the as-of date
    slots: dict  # (rule_id, record index) -> {slot: value}: computed limits, for explaining findings
    slotted: dict  # rule_id -> its `when` with slot names, for explaining findings


class _Compiled:
    """One rule compiled for the engine: slot-numbered conditions and their durable JSON."""

    def __init__(self, rule, index: int):
        self.rule = rule
        prefix = f"_s{index}_"
        counter = [0]
        self.applies = C.assign_slots(rule.applies, prefix, counter) if rule.applies is not None else None
        self.when = C.assign_slots(rule.when, prefix, counter) if rule.when is not None else None
        self.slot_leaves = [leaf for cond in (self.applies, self.when) if cond is not None
                            for leaf in C.walk(cond) if isinstance(leaf, C.SlotCompare)]
        self.fields = self.rule.needed_fields()


def _engine_value(value):
    """A record's domain value as durable_rules compares it (the operator table's engine form: dates as yyyymmdd)."""
    return O.engine_value(value)


_lookup_for = columnar.lookup_for  # parameter lookups: one definition for both executors


class Evaluation:
    """One run of the engine over a set of records: build rulesets, assert facts, check every result."""

    def __init__(self, rules, params: Parameters, as_of: dt.date):
        self.rules = [r for r in rules if r.in_force(as_of)]
        self.params, self.as_of = params, as_of
        self.lookup = _lookup_for(params, as_of)
        self.host = _host()
        self.fired: dict = defaultdict(list)  # (rule_id, record index) -> [state, …]
        self.measures: list[Measure] = []
        self.slots: dict = {}
        self.slotted: dict = {}
        self.seen = 0
        self._handlers: dict = {}  # ruleset name -> rule name -> its action, called with the matched frame

    # ------------------------------------------------------------ rulesets

    def _registered(self, kind_rules: list, chain: bool) -> list[_Registered]:
        """The rulesets of these rules, registered with the engine once per process (_REGISTERED) and reused by every
        later run over the same rule objects: building and registering them cost more than small runs' facts."""
        key = (chain, tuple(id(rule) for rule in kind_rules))
        found = _REGISTERED.get(key)
        if found is not None and all(a is b for a, b in zip(found[0], kind_rules)):
            return found[1]
        entries = []
        for shard in _shards(kind_rules):
            compiled = [_Compiled(rule, n) for n, rule in enumerate(shard)]
            definition = self._chain_definition(compiled) if chain else self._plain_definition(compiled)
            actions = {rule: spec.pop("run") for rule, spec in definition.items()}
            for spec in definition.values():
                spec["run"] = _unused  # (durable wants a callable; _drain runs the actions instead)
            name = f"rs{next(_NAMES)}"
            try:
                self.host.set_rulesets({name: definition})
            except Exception as exc:  # durable raises plain Exception with an error code
                raise EngineError(tr(f"规则引擎拒绝了一组规则（{exc}）", f"the engine refused a ruleset ({exc})"),
                                  fix=tr("运行 `ecocheck rules validate`；如果校验通过，这是程序缺陷，请报告",
                                         "run `ecocheck rules validate`; this is a bug if validation passes")) from None
            entries.append(_Registered(name, compiled, actions))
        if len(_REGISTERED) >= MAX_REGISTERED:
            _REGISTERED.clear()  # (the engine keeps what it registered: a bound on the rule sets a process keeps)
        _REGISTERED[key] = (list(kind_rules), entries)
        return entries

    def _action(self, rule_id: str, state: str, alias: str = "m"):
        fired = self.fired

        def run(frame):  # the matched facts by alias, as the engine gives them (_drain)
            fired[(rule_id, int(frame[alias]["ix"]))].append(state)
        return run

    def _seen(self, frame):
        self.seen += 1

    @staticmethod
    def _sink() -> dict:
        """A rule every record matches: no fact goes unhandled (durable_rules then crashes in delete_state
        when no fact of a session was stored), and the count proves every record reached the engine."""
        return {"seen": {"all": [{"m": {"t": "record"}}], "run": None}}

    @classmethod
    def _plain_definition(cls, compiled: list[_Compiled]) -> dict:
        """The ruleset of single-record rules; each rule's "run" names its action: (rule id, state, alias)."""
        definition = cls._sink()
        for n, comp in enumerate(compiled):
            rid = comp.rule.id
            # Every condition starts with a positive test: durable_rules 2.0.28 hangs on a rule whose whole
            # condition is a $nex (seen here: `absent` as a rule's only test never returned from assert_fact).
            record = [{"t": "record"}]
            applies_t = [C.compile_durable(comp.applies, True)] if comp.applies is not None else []
            definition[f"r{n}_v"] = {"all": [{"m": C.all_of(record + applies_t + [C.compile_durable(comp.when, True)])}],
                                     "run": (rid, VIOLATION, "m")}
            definition[f"r{n}_c"] = {"all": [{"m": C.all_of(record + applies_t + [C.compile_durable(comp.when, False)])}],
                                     "run": (rid, COMPLIANT, "m")}
            if comp.applies is not None:
                definition[f"r{n}_n"] = {"all": [{"m": C.all_of(record + [C.compile_durable(comp.applies, False)])}],
                                         "run": (rid, NOT_APPLICABLE, "m")}
        return definition

    @classmethod
    def _chain_definition(cls, compiled: list[_Compiled]) -> dict:
        """The ruleset of rules joined to measures; "run" as in _plain_definition."""
        definition = cls._sink()
        for n, comp in enumerate(compiled):
            rid, join = comp.rule.id, comp.rule.joins
            applies_t = [C.compile_durable(comp.applies, True)] if comp.applies is not None else []
            # The join term goes first: durable_rules 2.0.28 ignores a join placed after a nested $and/$or group
            # (seen here: every record then joined every measure). _settle_chains re-checks every joined pair.
            record = C.all_of([{join["by"]: {"x": "key"}}, {"t": "record"}, {"$ex": {join["by"]: 1}}] + applies_t)
            definition[f"r{n}_v"] = {"all": [{"x": C.all_of([{"t": "measure"}, {"measure": join["measure"]}])},
                                             {"m": record}],
                                     "run": (rid, VIOLATION, "m")}
            in_scope = C.all_of([{"t": "record"}, {"$ex": {join["by"]: 1}}] + applies_t)
            definition[f"r{n}_a"] = {"all": [{"m": in_scope}], "run": (rid, APPLICABLE, "m")}
            if comp.applies is not None:
                definition[f"r{n}_n"] = {"all": [{"m": C.all_of([{"t": "record"},
                                                             C.compile_durable(comp.applies, False)])}],
                                         "run": (rid, NOT_APPLICABLE, "m")}
        return definition

    # ------------------------------------------------------------ facts

    def _fact(self, index: int, record, compiled: list[_Compiled]) -> dict:
        fact = {"id": str(index + 1), "ix": index, "t": "record"}
        for comp in compiled:
            for name in comp.fields:
                if name in record.values:
                    fact[name] = _engine_value(record.values[name])
            computed = {}
            for leaf in comp.slot_leaves:
                value = C.compute_operand(leaf.operand, record.values, self.lookup)
                if isinstance(value, (int, float)) and not isinstance(value, bool):
                    fact[leaf.slot] = value
                    computed[leaf.slot] = value
            if computed:
                self.slots[(comp.rule.id, index)] = computed
        return fact

    def _assert(self, ruleset: str, fact: dict):
        handle = self.host.get_ruleset(ruleset)._handle
        result = durable_rules_engine.assert_fact(handle, _fact_json(fact))
        if result[0] == 1:  # the fact matched no rule
            if fact.get("t") == "record":  # the sink rule matches every record
                raise EngineError(tr(f"记录事实 {fact['id']} 没有匹配任何规则（连兜底规则也没有）",
                                     f"record fact {fact['id']} matched no rule, not even the sink"))
            return
        if result[0] == 2:
            raise EngineError(tr(f"规则引擎在一次运行中两次见到事实编号 {fact['id']}",
                                 f"the engine saw fact id {fact['id']} twice in one run"))
        self._drain(handle, 0 if result[0] == 3 else result[1], self._handlers[ruleset])

    @staticmethod
    def _drain(handle, state, handlers: dict):
        """Run every action the fact started, one after the other, as durable.engine.Ruleset.do_actions does, less
        its Python wrappers per action (a Closure, the session state written back, json; measured: the indicator
        differential test 25 s → 12 s): the actions here read the matched facts and change no state, and an action
        that fails raises an EngineError here instead of being stored in the state."""
        started = durable_rules_engine.start_action_for_state(handle, state)
        if not started:
            return
        text = started[1]
        while text:
            message = orjson.loads(text)
            try:
                for rule_name, frame in message.items():  # one action per message
                    handlers[rule_name](frame)
            except Exception as exc:
                durable_rules_engine.abandon_action(handle, state)
                raise EngineError(tr(f"规则动作在引擎内部失败：{exc!r}",
                                     f"a rule action failed inside the engine: {exc!r}")) from exc
            text = durable_rules_engine.complete_and_start_action(handle, state)

    def run_records(self, records: list, kind_rules: list, chain: bool, measures=()):
        for entry in self._registered(kind_rules, chain):
            name, compiled = entry.name, entry.compiled
            self.slotted.update({comp.rule.id: comp.when for comp in compiled})
            self._handlers[name] = {rule: self._seen if spec is None else self._action(*spec)
                                    for rule, spec in entry.actions.items()}
            try:
                if chain:  # measures first: a join must see them before the records it restricts
                    for n, measure in enumerate(measures):
                        self._assert(name, {"id": f"m{n + 1}", "t": "measure", "measure": measure.measure,
                                            "key": measure.key})
                seen_before = self.seen
                for index, record in records:
                    self._assert(name, self._fact(index, record, compiled))
                if self.seen - seen_before != len(records):
                    raise EngineError(tr(f"送入 {len(records)} 条记录，引擎却只见到 {self.seen - seen_before} 条",
                                         f"{len(records)} records asserted but the engine saw "
                                         f"{self.seen - seen_before}"))
            except BaseException:
                try:  # the ruleset is reused by later runs: none of this run's facts may stay in it
                    self.host.delete_state(name, "0")
                except Exception:
                    pass
                raise
            self.host.delete_state(name, "0")  # (an action that fails raises in _drain: no state holds an error)


def _fact_json(fact: dict) -> str:
    """A fact as JSON that durable_rules 2.0.28 can parse: its parser rejects a number with an exponent but no
    decimal point (error 204 for 1e-06, which json.dumps writes for 0.000001), so such floats are written out."""
    if not any(type(value) is float and ("e" in repr(value) or not math.isfinite(value)) for value in fact.values()):
        try:  # (orjson writes nan as null: such a value goes the slow way, as json.dumps writes it)
            return orjson.dumps(fact).decode()
        except TypeError:  # e.g. an integer past 64 bits: written as below
            pass
    parts = []
    for key, value in fact.items():
        if isinstance(value, float) and "e" in repr(value):
            text = np.format_float_positional(value, trim="-")
        else:
            text = json.dumps(value, ensure_ascii=False)
        parts.append(json.dumps(key, ensure_ascii=False) + ":" + text)
    return "{" + ",".join(parts) + "}"


def _paths(node) -> int:
    """How many times one fact can match a compiled condition: durable_rules fires once per matching $or branch."""
    if isinstance(node, dict):
        if "$or" in node:
            return sum(_paths(child) for child in node["$or"])
        if "$and" in node:
            product = 1
            for child in node["$and"]:
                product *= _paths(child)
            return product
    return 1


def _weight(rule) -> int:
    """The most engine matches one fact can cause for a rule (it reaches one state, plus 'applicable' for chains)."""
    comp = _Compiled(rule, 0)
    applies = [C.compile_durable(comp.applies, t) for t in (True, False)] if comp.applies is not None else [{}]
    when = [C.compile_durable(comp.when, t) for t in (True, False)] if comp.when is not None else [{}]
    return max(_paths(a) for a in applies) * max(_paths(w) for w in when) + (1 if rule.joins else 0)


def _shards(rules: list) -> list[list]:
    """Rules split into rulesets whose possible matches per fact stay under MATCH_BUDGET."""
    shards, current, load = [], [], 0
    for rule in rules:
        weight = _weight(rule)
        if weight > MATCH_BUDGET:
            raise EngineError(tr(f"规则 {rule.id} 对一个事实可能匹配 {weight} 次，超过引擎的上限",
                                 f"rule {rule.id} can match one fact {weight} times, more than the engine allows"),
                              rule=rule.id, fix=tr("把它的条件拆成几条规则", "split its condition into several rules"))
        if current and load + weight > MATCH_BUDGET:
            shards.append(current)
            current, load = [], 0
        current.append(rule)
        load += weight
    if current:
        shards.append(current)
    return shards


def run(rules, records: list, params: Parameters, as_of: dt.date, measures=(), engine: str = "column") -> Outcome:
    """Evaluate every rule in force on `as_of` against every record; each (rule, record) gets exactly one state.

    Rules that look at one record run in the column executor (`engine="column"`) or, as the reference, in
    durable_rules (`engine="durable"`); derived measures and the chain rules joined against them always run here.

    `measures` are consequences already in force (e.g. from an earlier run), added to those the run derives.
    """
    ev = Evaluation(rules, params, as_of)
    by_kind: dict = defaultdict(list)
    for index, record in enumerate(records):
        by_kind[record.kind].append((index, record))
    plain = [r for r in ev.rules if r.joins is None]
    chained = [r for r in ev.rules if r.joins is not None]
    if engine == "durable":
        for kind, items in by_kind.items():
            kind_rules = [r for r in plain if r.kind == kind]
            if kind_rules:
                ev.run_records(items, kind_rules, chain=False)
        states = _settle(ev, plain, by_kind)
    elif engine == "column":
        states = _plain_by_columns(ev, plain, by_kind)
    else:
        raise ValueError(f"unknown engine '{engine}'")
    derived, lapsed, free = derive(plain, by_kind, states, as_of, measures)
    ev.measures = derived
    for kind, items in by_kind.items():
        kind_rules = [r for r in chained if r.kind == kind]
        if kind_rules:
            ev.run_records(items, kind_rules, chain=True, measures=derived)
    states.update(_settle_chains(ev, chained, by_kind, free, derived))
    return Outcome(states=states, measures=derived, lapsed=lapsed, slots=ev.slots, slotted=ev.slotted)


def _plain_by_columns(ev: Evaluation, rules: list, by_kind: dict) -> dict:
    """The single-record rules of every kind through the column executor, keyed as durable's results are."""
    states = {}
    for kind, items in by_kind.items():
        kind_rules = [r for r in rules if r.kind == kind]
        if not kind_rules:
            continue
        batch = batch_of_records(kind, [record for _, record in items], columnar.fields_of(kind_rules))
        outcome = columnar.evaluate_batch(columnar.compile_rules(kind_rules), batch, ev.params, ev.as_of)
        indexes = [index for index, _ in items]
        for rule_id, codes in outcome.codes.items():
            for position, code in enumerate(codes):
                states[(rule_id, indexes[position])] = columnar.STATES[code]
        ev.slots.update({(rule_id, indexes[position]): slots for (rule_id, position), slots in outcome.slots.items()})
        ev.slotted.update(outcome.slotted)
    return states


def _settle(ev: Evaluation, rules: list, by_kind: dict) -> dict:
    """Exactly one state per (rule, record): none fired means indeterminate; two fired is an engine fault."""
    states = {}
    for rule in rules:
        for index, _record in by_kind.get(rule.kind, []):
            fired = set(ev.fired.get((rule.id, index), []))  # the same state twice: two $or branches matched
            if len(fired) > 1:
                raise EngineError(tr(f"规则 {rule.id} 对一条记录得出 {len(fired)} 种状态 {sorted(fired)}",
                                     f"rule {rule.id} reached {len(fired)} states {sorted(fired)} for one record"),
                                  rule=rule.id, fix=tr("请报告：规则编译产生了重叠的规则",
                                                       "report this: the rule compiler produced overlapping rules"))
            states[(rule.id, index)] = fired.pop() if fired else INDETERMINATE
    return states


def _settle_chains(ev: Evaluation, rules: list, by_kind: dict, free: dict, measures: list) -> dict:
    """Chain rules: violation when joined; compliant only where the region was shown free of the measure."""
    settled = {}
    deriving = {name for r in ev.rules for name in r.derives}
    for rule in rules:
        measure = rule.joins["measure"]
        cleared = free.get(measure, set()) if measure in deriving else {"*"}
        under = {m.key for m in measures if m.measure == measure}
        for index, record in by_kind.get(rule.kind, []):
            fired = set(ev.fired.get((rule.id, index), []))
            key = str(record.values.get(rule.joins["by"]))
            if VIOLATION in fired and NOT_APPLICABLE in fired or fired - {VIOLATION, APPLICABLE, NOT_APPLICABLE}:
                raise EngineError(tr(f"规则 {rule.id} 对一条记录得出状态 {sorted(fired)}",
                                     f"rule {rule.id} reached states {sorted(fired)} for one record"), rule=rule.id)
            if VIOLATION in fired and key not in under:
                raise EngineError(tr(f"规则 {rule.id}：对 {key} 触发了关联，而 {key} 并未处于“{measure}”措施之下",
                                     f"rule {rule.id}: the join fired for {key}, which is under no "
                                     f"'{measure}' measure"),
                                  rule=rule.id)
            if VIOLATION in fired:
                state = VIOLATION
            elif NOT_APPLICABLE in fired:
                state = NOT_APPLICABLE
            elif APPLICABLE in fired and key in under:
                raise EngineError(tr(f"规则 {rule.id}：{key} 处于{measure}措施之下，关联却没有触发",
                                     f"rule {rule.id}: {key} is under {measure} but the join did not fire"),
                                  rule=rule.id)
            elif APPLICABLE in fired and ("*" in cleared or key in cleared):
                state = COMPLIANT
            else:
                state = INDETERMINATE
            settled[(rule.id, index)] = state
    return settled
