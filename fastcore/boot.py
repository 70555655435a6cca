"""Plugins: the registration queue, booting in order, timeouts, the plugin tree.

``register`` does not run a plugin: it appends a :class:`PluginNode` to the
queue of the plugin currently loading into that context (the root node at
top level). Booting (``ready()``, or ``after()`` for what is queued so far)
takes a queue front to back; for each node it creates the node's context
(a child of the context ``register`` was called on, unless the plugin was
marked with :func:`plugin`, which reuses that context), runs the plugin
under ``plugin_timeout``, then boots the node's own queue: the plugins it
registered. Registration order, depth first, as avvio does for Fastify.

A plugin registered on a context whose plugin has already finished booting
(a context kept by another plugin, say) cannot join that finished queue: it
waits in the app's list of late registrations, which the next ``after()``
or ``ready()`` boots, in registration order, under the context it was
registered on. Once ``ready()`` has locked the blueprint, ``register``
raises ``FC_ERR_INSTANCE_ALREADY_STARTED`` instead.

Failures: a plugin that raises is reported as ``FC_ERR_PLUGIN_BOOT`` naming
it, with its error as ``__cause__``; one that does not finish in time is
``FC_ERR_PLUGIN_TIMEOUT``; a declared dependency that was not loaded
before it is ``FC_ERR_PLUGIN_NOT_PRESENT``. These three pass unchanged
through the plugins that enclose the failing one. The first failure is kept
on the app, so a later ``ready()`` reports it too.
"""
from __future__ import annotations

import asyncio
import functools
import time
from typing import Any, Callable, Iterable

from . import errors
from .hooks import call_hook

_BOOT_ERRORS = (errors.PluginBootError, errors.PluginTimeoutError,
                errors.PluginNotPresentError)


class Plugin:
    """A plugin function marked by :func:`plugin` (name, dependencies, no own context)."""

    def __init__(self, fn: Callable, name: str | None, dependencies: Iterable[str],
                 encapsulate: bool, options: Callable[[dict], dict] | None = None) -> None:
        if not callable(fn):
            raise TypeError("A plugin must be a function taking (app, opts), got %r" % (fn,))
        if options is not None and not callable(options):
            raise TypeError("options= takes a function (opts) -> opts, got %r" % (options,))
        functools.update_wrapper(self, fn)
        self.fn = fn
        self.name = name if name is not None else plugin_name(fn)
        self.dependencies = (dependencies,) if isinstance(dependencies, str) \
            else tuple(dependencies or ())
        self.encapsulate = encapsulate
        self.check_options = options

    def validate(self, opts: dict) -> dict:
        """The options ``register`` was given, checked by the plugin's
        ``options`` function: what it returns is what the plugin gets; a
        ``TypeError``/``ValueError`` it raises is ``FC_ERR_INVALID_OPTION``."""
        if self.check_options is None:
            return opts
        try:
            checked = self.check_options(dict(opts))
        except (TypeError, ValueError) as exc:
            raise errors.InvalidOptionError("%s: %s" % (self.name, exc)) from exc
        return opts if checked is None else checked

    def __call__(self, app: Any, opts: dict) -> Any:
        return self.fn(app, opts)

    def __repr__(self) -> str:
        return "<fastcore.plugin %s>" % self.name


def plugin(fn: Callable | None = None, *, name: str | None = None,
           dependencies: Iterable[str] = (), encapsulate: bool = False,
           options: Callable[[dict], dict] | None = None):
    """Mark ``fn`` as a plugin that adds to the context it is registered in.

    Its decorations, hooks and routes land in the registering context (no
    child context is created) unless ``encapsulate=True``. ``name`` is what
    other plugins list in ``dependencies``; each dependency must have been
    loaded before this plugin boots. ``options(opts) -> opts`` checks the
    options at ``register`` (raising ``TypeError`` or ``ValueError``, which
    ``register`` raises as ``FC_ERR_INVALID_OPTION`` naming the plugin); the
    plugin gets what it returns. Usable as ``@plugin``,
    ``@plugin(name="db")`` or ``plugin(fn, name="db")``.
    """
    if fn is None:
        return lambda f: Plugin(f, name, dependencies, encapsulate, options)
    return Plugin(fn, name, dependencies, encapsulate, options)


def plugin_name(fn: Any) -> str:
    """The name a plugin is known by: its ``name`` if marked, else its qualified name."""
    if isinstance(fn, Plugin):
        return fn.name
    return getattr(fn, "__qualname__", None) or getattr(fn, "__name__", None) or repr(fn)


class PluginNode:
    """One registration: the plugin, its options, and what it registers in turn."""

    __slots__ = ("fn", "name", "opts", "prefix", "parent_context", "context", "queue",
                 "children", "elapsed", "booted")

    def __init__(self, fn: Callable, opts: dict, prefix: str, parent_context: Any,
                 name: str | None = None) -> None:
        self.fn = fn
        self.name = plugin_name(fn) if name is None else name
        self.opts = opts
        self.prefix = prefix
        self.parent_context = parent_context
        self.context = None
        self.queue: list[PluginNode] = []
        self.children: list[PluginNode] = []
        self.elapsed: float | None = None
        self.booted = False         # it ran and its own queue was booted

    def add(self, child: PluginNode, app: Any) -> None:
        """Queue ``child`` here, or among the app's late registrations once booted."""
        if self.booted:
            app._late_plugins.append((self, child))
        else:
            self.queue.append(child)

    @property
    def encapsulated(self) -> bool:
        return not isinstance(self.fn, Plugin) or self.fn.encapsulate


async def load_queue(node: PluginNode, app: Any) -> None:
    """Boot every plugin queued on ``node`` so far, in order, depth first."""
    while node.queue:
        child = node.queue.pop(0)
        node.children.append(child)
        await load_plugin(child, app)


async def load_late(app: Any) -> None:
    """Boot the plugins registered on contexts that had finished booting."""
    while app._late_plugins:
        owner, child = app._late_plugins.pop(0)
        owner.children.append(child)
        await load_plugin(child, app)


async def load_plugin(node: PluginNode, app: Any) -> None:
    started = time.perf_counter()
    try:
        context = await _enter(node)
        previous, context._node = context._node, node
        try:
            await _run(node, context, app._options["plugin_timeout"])
            await load_queue(node, app)
            node.booted = True
        finally:
            context._node = previous
    except BaseException as exc:
        if app._boot_error is None and isinstance(exc, Exception):
            app._boot_error = exc
        raise
    finally:
        node.elapsed = time.perf_counter() - started


async def _enter(node: PluginNode) -> Any:
    """Check dependencies and give the node its context (a new child when encapsulated)."""
    parent = node.parent_context
    if isinstance(node.fn, Plugin):
        for dependency in node.fn.dependencies:
            if not parent.has_plugin(dependency):
                raise errors.PluginNotPresentError(
                    'The dependency "%s" of plugin "%s" is not registered' % (
                        dependency, node.name))
    parent._plugin_names.add(node.name)
    if not node.encapsulated:
        node.context = parent
        return parent
    node.context = child = parent._create_child(node.prefix, node.name)
    child._node = node
    try:
        for fn in parent._inherited_hooks("on_register"):
            fn(child, node.opts)
    except _BOOT_ERRORS:
        raise
    except Exception as exc:
        raise _boot_error(node, exc) from exc
    return child


async def _run(node: PluginNode, context: Any, timeout: float) -> None:
    scope = None
    try:
        if timeout:
            async with asyncio.timeout(timeout) as scope:
                await call_hook(node.fn, context, node.opts)
        else:
            await call_hook(node.fn, context, node.opts)
    except _BOOT_ERRORS:
        raise
    except Exception as exc:
        # A TimeoutError the scope did not cause is the plugin's own error.
        if isinstance(exc, TimeoutError) and scope is not None and scope.expired():
            raise errors.PluginTimeoutError(
                'Plugin "%s" did not start in time (plugin_timeout=%gs)' % (
                    node.name, timeout)) from None
        raise _boot_error(node, exc) from exc


def _boot_error(node: PluginNode, exc: BaseException) -> errors.PluginBootError:
    return errors.PluginBootError('Plugin "%s" failed to boot: %s: %s' % (
        node.name, type(exc).__name__, exc))


def plugin_durations(root: PluginNode) -> dict[str, float]:
    """``{name: seconds}`` of every booted plugin under ``root`` (names summed)."""
    found: dict[str, float] = {}
    pending = list(root.children)
    while pending:
        node = pending.pop()
        if node.elapsed is not None and node.booted:
            found[node.name] = found.get(node.name, 0.0) + node.elapsed
        pending.extend(node.children)
    return found


def render_tree(root: PluginNode) -> str:
    """The plugin tree, one line per plugin with its boot time (children included)."""
    lines = ["%s %s" % (root.name, _duration(root))]
    _render_children(root, "", lines)
    return "\n".join(lines) + "\n"


def _render_children(node: PluginNode, indent: str, lines: list[str]) -> None:
    shown = node.children + node.queue
    for i, child in enumerate(shown):
        last = i == len(shown) - 1
        lines.append("%s%s %s %s" % (indent, "└──" if last else "├──", child.name,
                                     _duration(child)))
        _render_children(child, indent + ("    " if last else "│   "), lines)


def _duration(node: PluginNode) -> str:
    if node.elapsed is None:
        return "(not booted)"
    return "%.2f ms" % (node.elapsed * 1000.0)
