"""Command line: `spherescope` opens the window; `spherescope trace` works in a terminal.

Errors a user can cause end with one line on stderr and a non-zero exit code, never
a traceback (pass --debug to see one).
"""

from __future__ import annotations

import argparse
import sys

from spherescope import __version__
from spherescope.commands.common import EXIT_FAILED, EXIT_USAGE, fail

class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, not argparse's usage dump
        print(f"spherescope: error: {message} (see --help)", file=sys.stderr)
        raise SystemExit(EXIT_USAGE)


def _add_model_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", default=None, help="embedded (default), a hub id, a model directory or a .gguf file")
    p.add_argument("--device", default="auto", help="auto (CUDA, then MPS, then CPU; shards over several GPUs when one is too small), cpu, cuda, cuda:1, mps, shard")
    p.add_argument("--dtype", choices=["float32", "float16", "bfloat16"], default=None, help="weights precision; the lens is always float32")
    p.add_argument("--allow-pickle", action="store_true", help="allow pickled .bin checkpoints (they can run code; only for sources you trust)")
    p.add_argument("--ignore-memory", action="store_true",
                   help="load even when the model's estimated memory exceeds what is free (it may swap or fail)")


def _add_steer_args(group, sweep: bool = False) -> None:
    group.add_argument("--steer-layer", type=int, default=None, metavar="K",
                       help="the block after which the direction is added (0: to the embeddings)"
                       + ("; default: the middle block" if sweep else ""))
    group.add_argument("--steer-toward", default=None, metavar="' John'", help="steer toward this token's direction"
                       + ("; default: the second of --tokens" if sweep else ""))
    group.add_argument("--steer-away", default=None, metavar="' Mary'",
                       help="and away from this one's (the direction is toward minus away)"
                       + ("; default: the first of --tokens" if sweep else ""))
    group.add_argument("--steer-alpha", type=float, default=None, metavar="A",
                       help="the α to mark on the curve" if sweep else
                       "the strength: the length of the vector added (compare |h| at that layer)")
    group.add_argument("--steer-position", type=int, default=None, metavar="N",
                       help="add it at this position only (default: every position)")
    if sweep:
        group.add_argument("--alphas", default=None, metavar="LO:HI:N or A,B,C",
                           help="the α values of --view steer (default: 21 round values out to 3 x |h| at that layer)")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="spherescope", description="Watch a transformer's hidden state move as a direction on a sphere with a length.")
    parser.add_argument("--version", action="version", version=f"spherescope {__version__}")
    parser.add_argument("--debug", action="store_true", help="show full tracebacks")
    sub = parser.add_subparsers(dest="command", parser_class=_Parser)

    gui = sub.add_parser("gui", help="open the window (the default)")
    _add_model_args(gui)
    gui.add_argument("--prompt", default=None, help="prompt to run once the window is up")
    gui.add_argument("--snapshot", default=None, metavar="FILE.png", help="save the view once the prompt or scene is traced, then quit")
    gui.add_argument("scene", nargs="?", default=None, help=argparse.SUPPRESS)
    _add_trace_and_patch_parsers(sub)
    _add_render_parser(sub)
    return parser


def _add_trace_and_patch_parsers(sub) -> None:
    tr = sub.add_parser("trace", help="print the logit lens of a prompt layer by layer, or write it as JSON")
    _add_model_args(tr)
    given = tr.add_mutually_exclusive_group(required=True)
    given.add_argument("--prompt")
    given.add_argument("--prompts", default=None, metavar="FILE.csv",
                       help="a prompt set (CSV or JSONL: prompt, and optionally target, contrast, corrupt): the "
                            "set's figures (means, quartiles, accuracy) and each prompt's own trace")
    tr.add_argument("--position", type=int, default=None, help="token position to follow (default: the last; negative counts from the end)")
    tr.add_argument("--top-k", type=int, default=10)
    tr.add_argument("--out", default=None, help="write the trace as JSON to this file")
    tr.add_argument("--tokens", default=None, metavar="' Mary, John'",
                    help="two comma-separated tokens: add each layer's coordinates in their plane (the article's figure)")
    tr.add_argument("--attribute", default=None, metavar="' Mary'",
                    help="direct logit attribution of each block's attention and MLP to this token's logit")
    tr.add_argument("--contrast", default=None, metavar="' John'",
                    help="with --attribute: attribute logit(target) - logit(contrast)")
    tr.add_argument("--attention", action="store_true",
                    help="add each block's attention weights from the followed position, per head, to every layer")
    tr.add_argument("--head", default=None, metavar="BLOCK.HEAD",
                    help="one head, e.g. 24.3: which positions it reads, what it writes and which tokens that raises "
                         "(with --attribute: its term)")
    _add_steer_args(tr.add_argument_group("steering", "add alpha x a unit token direction to the residual after one "
                                           "block, and trace the steered run"))
    tr.add_argument("--backend", choices=["direct", "nnsight"], default="direct",
                    help="direct (default): hooks on a local model; nnsight: the same trace through nnsight (pip install 'spherescope[remote]')")
    tr.add_argument("--remote", action="store_true",
                    help="with --backend nnsight: run on NDIF (needs a hub id NDIF hosts and NDIF_API_KEY in the environment)")

    pt = sub.add_parser("patch", help="activation patching: put a clean run's residual into a corrupt run at every "
                        "layer and position, and measure how much of logit(target) - logit(contrast) comes back")
    _add_model_args(pt)
    pt.add_argument("--clean", default=None, help="the prompt whose residuals are copied")
    pt.add_argument("--corrupt", default=None, help="the prompt they are copied into (the same number of tokens)")
    pt.add_argument("--pairs", default=None, metavar="FILE.csv",
                    help="a set of pairs instead (CSV or JSONL: prompt, corrupt, target, contrast): the recovery of "
                         "the mean logit difference, positions counted from the end")
    pt.add_argument("--target", default=None, metavar="' Mary'", help="the clean run's answer (with --pairs: for "
                    "rows that give none)")
    pt.add_argument("--contrast", default=None, metavar="' John'", help="the corrupt run's answer")
    pt.add_argument("--out", default=None, metavar="FILE.json", help="write the grid as JSON (default: print a table)")
    pt.add_argument("--heads", action="store_true",
                    help="also patch each head's output at the last position: a blocks x heads grid (heads_matrix)")

def _add_render_parser(sub) -> None:
    rd = sub.add_parser("render", help="any view as a figure (PNG, JPEG, SVG), or the layer sweep as MP4 or GIF, with no window")
    _add_model_args(rd)
    rd.add_argument("--view", choices=["sphere", "plane", "attribution", "heads", "closest", "confidence", "norms", "token-norms",
                                       "roundtrip", "tied", "compare", "patching", "head-patching", "steer", "set"],
                    default="sphere", help="sphere: the 3-D view (default); plane: the article's plane of two --tokens; "
                    "compare: the angle and logit difference of --prompt and --compare; patching: the heatmap of "
                    "patching --prompt (clean) into --compare (corrupt) for the two --tokens; steer: the model's answer "
                    "as α grows (--steer-*); heads: what one --head reads and writes; or a lesson's plot or table alone")
    rd.add_argument("--head", default=None, metavar="BLOCK.HEAD",
                    help="with --view heads: the head, e.g. 24.3 (block 24, head 3)")
    rd.add_argument("--compare", default=None, metavar="PROMPT",
                    help="a second prompt, drawn on the sphere beside the first (and the corrupt prompt of --view patching)")
    rd.add_argument("--prompt", default=None)
    rd.add_argument("--prompts", default=None, metavar="FILE.csv",
                    help="a prompt set (CSV or JSONL): its bundle of paths on the sphere, or --view set: its lens "
                         "and what moved it, mean and spread")
    rd.add_argument("--scene", default=None, help="a .spherescope scene; other options override it")
    rd.add_argument("--position", type=int, default=None)
    rd.add_argument("--layer", default=None, help="layer number for a PNG (default: the last), or 'all'")
    rd.add_argument("--basis", choices=["unembedding-pca", "token-plane", "trajectory-pca"], default=None)
    rd.add_argument("--tokens", default=None, help="comma-separated tokens spanning a token-plane basis, e.g. ' Mary, John'")
    rd.add_argument("--camera", default=None, metavar="VIEW",
                    help="plane (straight above the token plane; the default with --tokens), top, oblique, or "
                         "AZIMUTH,ELEVATION[,DISTANCE]")
    rd.add_argument("--whole-path", action="store_true",
                    help="a picture of one layer draws the whole path, not only up to that layer")
    rd.add_argument("--size", default="1920x1080", help="WxH in pixels (default 1920x1080)")
    rd.add_argument("--style", choices=["dark", "slide", "paper"], default=None)
    rd.add_argument("--transparent", action="store_true", help="transparent background (PNG)")
    rd.add_argument("--annotate", default=None, metavar="LIST",
                    help="all, none, or some of title,model,layer,colorbar,key,kept (default: all for --style slide, else none)")
    rd.add_argument("--alpha", type=float, default=None, help="the confidence lesson's scale α (0-4; default 1 or the scene's)")
    rd.add_argument("--apply-alpha", action="store_true", help="show α on the sphere's probabilities and marker (never by default)")
    rd.add_argument("--fps", type=float, default=30.0, help="frames per second for animations (default 30)")
    rd.add_argument("--speed", type=float, default=0.25, help="seconds per layer in an animation (default 0.25)")
    rd.add_argument("--orbit", type=float, default=0.0, help="degrees of camera orbit over an animation; it ends facing the prediction")
    rd.add_argument("--out", required=True, help="FILE.png, FILE.jpg, FILE.svg, FILE.mp4 or FILE.gif")
    _add_steer_args(rd.add_argument_group("steering (--view steer)", "the dose-response of adding α x a unit "
                                          "token direction after one block"), sweep=True)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    commands = ("gui", "trace", "patch", "render", "-h", "--help", "--version", "--debug")
    if not argv or argv[0] in ("--model", "--prompt", "--device", "--dtype", "--allow-pickle", "--ignore-memory", "--snapshot") or argv[0].startswith(("--model=", "--snapshot=")) or (
        argv[0] not in commands and not argv[0].startswith("-")
    ):
        argv = ["gui", *argv]  # `spherescope [--model M] [scene]` opens the window
    from spherescope.core.text import encodable

    for i, arg in enumerate(argv):
        if not encodable(arg):  # bytes that are not UTF-8 come in as lone surrogates
            return fail(f"argument {i + 1} is not valid UTF-8 text; check the terminal's encoding", EXIT_USAGE)
    args = build_parser().parse_args(argv)
    if args.command in ("trace", "patch", "render"):
        from spherescope import runtime

        runtime.limit_malloc_arenas()  # before torch's threads exist (the window's make_app does its own)
        _interrupt_on_sigterm()
    if args.command is None:  # only global flags, e.g. `spherescope --debug`: open the window
        args = build_parser().parse_args([*argv, "gui"])
    try:
        if args.command == "trace" and args.prompts is not None:
            from spherescope.commands.trace_set import cmd_trace_set

            return cmd_trace_set(args)
        if args.command == "trace":
            from spherescope.commands.trace import cmd_trace

            return cmd_trace(args)
        if args.command == "patch" and args.pairs is not None:
            from spherescope.commands.trace_set import cmd_patch_pairs

            return cmd_patch_pairs(args)
        if args.command == "patch":
            from spherescope.commands.patch import cmd_patch

            return cmd_patch(args)
        if args.command == "render":
            from spherescope.commands.render import cmd_render

            return cmd_render(args)
        return cmd_gui(args)
    except KeyboardInterrupt:
        _remove_partial_files()
        return fail("interrupted", 130)
    except Exception as exc:
        if args.debug:
            raise
        from spherescope.models.errors import SpherescopeError
        from spherescope.core.atomic import WriteError

        if isinstance(exc, (SpherescopeError, WriteError)):
            return fail(str(exc))
        if args.command == "render" and isinstance(exc, (ValueError, RuntimeError)):
            return fail(str(exc), EXIT_USAGE if isinstance(exc, ValueError) else EXIT_FAILED)
        return fail(f"unexpected {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''} (rerun with --debug for details)")


def _interrupt_on_sigterm() -> None:
    """SIGTERM ends a command as Ctrl+C does: through KeyboardInterrupt, so partial files
    are deleted and the exit is one line, not a traceback or a half-written file."""
    import signal

    def handler(signum, frame):
        raise KeyboardInterrupt

    try:
        signal.signal(signal.SIGTERM, handler)
    except ValueError:  # not the main thread (embedded use)
        pass


def _remove_partial_files() -> None:
    if "spherescope.render.export" in sys.modules:
        sys.modules["spherescope.render.export"].remove_partial_files()


def cmd_gui(args) -> int:
    from spherescope.app import run_app

    return run_app(model=args.model, prompt=args.prompt, scene=args.scene, device=args.device, dtype=args.dtype,
                   allow_pickle=args.allow_pickle, ignore_memory=args.ignore_memory,
                   snapshot=args.snapshot)
