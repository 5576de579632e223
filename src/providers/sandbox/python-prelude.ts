// Python run inside the Pyodide worker once, after Pyodide has loaded and before any user code. It
// defines `install()` (cuts Pyodide's JS bridge and fences the interpreter) and `run()` (runs one
// code node). The worker calls `install()` through a PyProxy rather than through runPython, because
// install() empties the Pyodide modules that runPython itself executes in.
//
// This is the inner layer only. The outer layers (a child process under Node's permission model,
// with code generation from strings disabled and the network-capable JS globals and modules
// removed) are in python-worker-source.ts.

export const PYTHON_PRELUDE = String.raw`
import sys, builtins, json, traceback, random, importlib, types

_json_loads = json.loads
_json_dumps = json.dumps
_format_exception_only = traceback.format_exception_only
_random_seed = random.seed
_ModuleType = types.ModuleType

# Pyodide's bridge to JavaScript: js (globalThis), pyodide_js (the Pyodide API), the pyodide package
# (ffi, code.run_js, http.pyfetch, webloop) and the C module behind them all.
BRIDGE = frozenset({"js", "pyodide_js", "pyodide", "_pyodide", "_pyodide_core", "micropip", "pyodide_http"})
# Modules that cannot be imported at all: the bridge, raw memory access (ctypes and CPython's test
# modules can write arbitrary wasm memory, and from there call into JS), process spawning.
BLOCKED_MODULES = BRIDGE | frozenset({
    "ctypes", "_ctypes", "_testcapi", "_testinternalcapi", "_testlimitedcapi", "_testbuffer",
    "_testclinic", "_testclinic_limited", "_testmultiphase", "_testsinglephase", "_testimportmultiple",
    "_xxtestfuzz", "_remote_debugging", "xxsubtype",
    "subprocess", "_posixsubprocess", "multiprocessing", "_multiprocessing", "pty",
})


def _blocked_module(name):
    return type(name) is not str or name.partition(".")[0] in BLOCKED_MODULES


# The audit hook is compiled into a private namespace whose builtins are a private copy, and nothing
# keeps a reference to it but the interpreter's hook list (and gc's object walkers are among the
# events it refuses). So user code can neither reach it nor change what it looks up: not its
# globals, not builtins (replacing builtins.type or builtins.any does not affect it), not a helper's
# closure cells. It uses only str methods and frozensets, never a module function user code could
# replace.
_HOOK_SOURCE = """
def make(blocked_modules):
    deny_heads = frozenset({
        "socket", "subprocess", "ctypes", "pty", "resource", "webbrowser", "urllib", "ftplib",
        "smtplib", "imaplib", "poplib", "nntplib", "telnetlib", "shutil", "tempfile", "winreg",
        "msvcrt", "_winapi", "cpython",
    })
    deny_exact = frozenset({
        # processes and signals
        "os.system", "os.exec", "os.spawn", "os.posix_spawn", "os.fork", "os.forkpty", "os.kill",
        "os.killpg", "os.startfile", "os.add_dll_directory", "signal.pthread_kill",
        # changing the (in-memory) file system, which would outlive the run
        "os.chdir", "os.mkdir", "os.remove", "os.rename", "os.rmdir", "os.symlink", "os.link",
        "os.truncate", "os.chmod", "os.chown", "os.utime", "os.chflags", "os.lchflags",
        "os.lchmod", "os.lchown", "os.mkfifo", "os.mknod",
        # tools for forging objects or finding the ones the fence removed
        "gc.get_objects", "gc.get_referrers", "gc.get_referents", "code.__new__", "marshal.load",
        "marshal.loads", "setopencodehook",
        # hooks that would outlive the run and watch later runs
        "sys.addaudithook", "sys.settrace", "sys.setprofile", "sys._current_frames",
        "sys._current_exceptions", "sys.remote_exec",
        "sqlite3.enable_load_extension", "sqlite3.load_extension",
    })
    write_chars = frozenset("wax+")

    def lib_path(path):
        if type(path) is bytes:
            path = path.decode("utf-8", "replace")
        if type(path) is not str:
            return False
        if "/./" in path or "/../" in path or "//" in path or path.endswith("/..") or path.endswith("/."):
            return False
        return path == "/lib" or path.startswith("/lib/")

    def hook(event, args):
        if event in deny_exact:
            raise PermissionError(event + " is not allowed in the sandbox")
        head = event.partition(".")[0]
        if head in deny_heads or event.startswith("sys.monitoring."):
            if head == "socket":
                raise PermissionError("network access is not allowed in the sandbox")
            raise PermissionError(event + " is not allowed in the sandbox")
        if event == "import":
            name = args[0]
            if type(name) is not str or name.partition(".")[0] in blocked_modules:
                raise ModuleNotFoundError("module " + repr(name) + " is not available in the sandbox")
        elif event == "open":
            path, mode, flags = args[0], args[1], args[2]
            writing = (type(flags) is int and flags & 3 != 0) or (
                type(mode) is str and not write_chars.isdisjoint(mode))
            if writing or not lib_path(path):
                raise PermissionError("file access is not allowed in the sandbox: " + repr(path))
        elif event == "os.listdir" or event == "os.scandir":
            if not lib_path(args[0]):
                raise PermissionError("file access is not allowed in the sandbox: " + repr(args[0]))
        elif event == "sqlite3.connect":
            if args[0] != ":memory:":
                raise PermissionError("only in-memory sqlite databases are allowed in the sandbox")

    return hook
"""


def _make_audit_hook():
    private = {"__builtins__": dict(builtins.__dict__)}
    exec(compile(_HOOK_SOURCE, "<sandbox-audit-hook>", "exec"), private)
    return private.pop("make")(BLOCKED_MODULES)


class _BlockingFinder:
    """First on sys.meta_path: refuses the blocked modules even via importlib.import_module, which
    raises no 'import' audit event."""

    @staticmethod
    def find_spec(fullname, path=None, target=None):
        if _blocked_module(fullname):
            raise ModuleNotFoundError("module " + repr(fullname) + " is not available in the sandbox", name=fullname)
        return None


def install():
    import _imp

    # 1. Cut the bridge: forget the registered JS modules, drop the JS finder, and unload (and
    #    empty) every module of the pyodide, _pyodide and js families, so no JsProxy is left
    #    reachable from Python.
    try:
        from _pyodide._importhook import jsfinder
        jsfinder.jsproxies.clear()
    except Exception:
        pass
    sys.meta_path[:] = [
        f for f in sys.meta_path
        if str(getattr(f, "__module__", "")).partition(".")[0] not in ("_pyodide", "pyodide")
    ]
    removed = []
    for name in list(sys.modules):
        if _blocked_module(name):
            removed.append(sys.modules.pop(name))
    for module in removed:
        if type(module) is _ModuleType:
            module.__dict__.clear()
    del removed
    sys.path[:] = [p for p in sys.path if p.startswith("/lib")]
    sys.path_importer_cache.clear()

    # 2. Builtin (C) modules: import every allowed one now, then make the loader hand out only
    #    those. Otherwise _imp.create_builtin would rebuild _pyodide_core (and its to_js, which
    #    returns JS objects) from CPython's cached copy after we unloaded it.
    allowed = {}
    for name in sys.builtin_module_names:
        if _blocked_module(name):
            continue
        try:
            allowed[name] = sys.modules.get(name) or importlib.import_module(name)
        except Exception:
            pass

    def create_builtin(spec):
        name = getattr(spec, "name", None)
        if type(name) is str and name in allowed:
            return allowed[name]
        raise ModuleNotFoundError("module " + repr(name) + " is not available in the sandbox", name=name)

    def exec_builtin(module):
        return 0

    def create_dynamic(spec, file=None):
        raise ModuleNotFoundError("extension modules cannot be loaded in the sandbox")

    _imp.create_builtin = create_builtin
    _imp.exec_builtin = exec_builtin
    _imp.create_dynamic = create_dynamic
    _imp.exec_dynamic = exec_builtin

    # 3. The audit hook and the finder.
    sys.meta_path.insert(0, _BlockingFinder)
    sys.addaudithook(_make_audit_hook())

    # 4. The bridge's classes stay reachable through object.__subclasses__(), and some of its C
    #    types corrupt memory when instantiated with arguments they do not expect (JsFuncSignature
    #    with a dict, for one). Report each such type, with fields to check the layout by, so the
    #    worker can point its tp_new at NoneType's, which makes every instantiation return None.
    def describe(cls):
        base = cls.__base__
        return [id(cls), cls.__flags__ & 0xFFFFFFFF, id(base) if base is not None else 0,
                cls.__weakrefoffset__, cls.__dictoffset__]

    family = []
    seen = set()
    todo = [object]
    while todo:
        cls = todo.pop()
        try:
            subclasses = type.__subclasses__(cls)
        except TypeError:
            continue
        for sub in subclasses:
            if id(sub) in seen:
                continue
            seen.add(id(sub))
            todo.append(sub)
            module = str(getattr(sub, "__module__", "") or "")
            if module.startswith(("pyodide", "_pyodide")) or sub.__name__ in (
                    "JsFuncSignature", "Py2JsConverter", "Js2PyConverter", "JsMethodCallSingleton"):
                family.append(sub)
    # Subclasses of family members are family too.
    closed = {id(c): c for c in family}
    todo = list(family)
    while todo:
        for sub in type.__subclasses__(todo.pop()):
            if id(sub) not in closed:
                closed[id(sub)] = sub
                todo.append(sub)
    # 5. Objects of the bridge still held outside its modules: converters kept as class attributes
    #    (jsbind's Json.py2js turns a list into a JS array), the jsnull sentinel json's encoder
    #    keeps, and asyncio's event loop policy (Pyodide's WebLoop, which schedules through JS).
    for cls in closed.values():
        for key in list(vars(cls)):
            if not (key.startswith("__") and key.endswith("__")):
                try:
                    delattr(cls, key)
                except (TypeError, AttributeError):
                    pass
    try:
        import json.encoder
        json.encoder._JSNULL = object()
    except Exception:
        pass
    try:
        import asyncio.events
        asyncio.events._event_loop_policy = None
    except Exception:
        pass
    return _json_dumps({"none": describe(type(None)), "types": [describe(c) for c in closed.values()]})


def _envelope(status, **fields):
    fields["status"] = status
    return _json_dumps(fields)


def _user_error(exc):
    # The traceback's last line ("ValueError: boom"), with a syntax error's line number and any
    # notes added to the exception ("when serializing dict item 'x'") in brackets.
    try:
        if isinstance(exc, SyntaxError):
            lines = _format_exception_only(type(exc), exc)
            message = lines[-1].strip() if lines else "SyntaxError"
            if exc.lineno:
                message += " (line " + str(exc.lineno) + ")"
            return message
        name = type(exc).__qualname__
        module = type(exc).__module__
        if module not in ("builtins", "__main__", None):
            name = module + "." + name
        text = str(exc)
        message = name + ": " + text if text else name
        notes = getattr(exc, "__notes__", None)
        if isinstance(notes, list) and notes:
            message += " (" + "; ".join(str(n) for n in notes) + ")"
        return message
    except BaseException:
        return "an exception was raised"


def run(code, inputs_json):
    try:
        _random_seed()
        inputs = _json_loads(inputs_json)
        namespace = {"__name__": "__main__", "__builtins__": builtins}
        exec(compile(code, "<code>", "exec"), namespace)
        main = namespace.get("main")
        if not callable(main):
            return _envelope("error", kind="no_main")
        result = main(**inputs)
        if not isinstance(result, dict):
            return _envelope("error", kind="not_dict", type=type(result).__name__)
        try:
            output = _json_dumps(result, ensure_ascii=False, allow_nan=False)
        except MemoryError:
            raise
        except BaseException as exc:
            return _envelope("error", kind="output", message=_user_error(exc))
        return '{"status":"ok","output":' + output + "}"
    except MemoryError:
        return '{"status":"error","kind":"memory"}'
    except BaseException as exc:
        try:
            return _envelope("error", kind="user", message=_user_error(exc))
        except MemoryError:
            return '{"status":"error","kind":"memory"}'
`;
