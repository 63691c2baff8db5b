"""OpenGL set-up shared by the 3-D view's parts: the blend states its items draw with,
the sphere's mesh, the functions a launch looks up ahead, and off-screen buffers."""

from __future__ import annotations

import pyqtgraph.opengl as gl
from OpenGL import GL
from PySide6.QtOpenGL import QOpenGLFramebufferObject, QOpenGLFramebufferObjectFormat

# The sphere and its graticule are drawn without writing depth: they tint what lies
# behind them instead of hiding it, and points sitting exactly on the surface are
# not cut in half by it. Everything else must switch depth writes back on.
_SHELL = {GL.GL_DEPTH_TEST: True, GL.GL_BLEND: True, GL.GL_CULL_FACE: False, "glDepthMask": (GL.GL_FALSE,),
          "glBlendFuncSeparate": (GL.GL_SRC_ALPHA, GL.GL_ONE_MINUS_SRC_ALPHA, GL.GL_ONE, GL.GL_ONE_MINUS_SRC_ALPHA)}
_SOLID = {GL.GL_DEPTH_TEST: True, GL.GL_BLEND: True, GL.GL_CULL_FACE: False, "glDepthMask": (GL.GL_TRUE,),
          "glBlendFuncSeparate": (GL.GL_SRC_ALPHA, GL.GL_ONE_MINUS_SRC_ALPHA, GL.GL_ONE, GL.GL_ONE_MINUS_SRC_ALPHA)}

_MESH = None
# The OpenGL functions a frame or an export calls. PyOpenGL looks each one up on its
# first call; a launch looks them up on its import thread (prepare_gl), because on
# the GUI thread the lookups waited for the model worker's loading of torch's
# libraries (one loader lock), and the first frame with them.
GL_FUNCTIONS = (
    "glAttachShader", "glBindAttribLocation", "glBindFramebuffer", "glBlendFuncSeparate", "glBlitFramebuffer",
    "glClear", "glClearColor", "glCompileShader", "glCreateProgram", "glCreateShader", "glDeleteShader",
    "glDepthMask", "glDisable", "glDisableVertexAttribArray", "glDrawArrays", "glDrawElements", "glEnable",
    "glEnableVertexAttribArray", "glFinish", "glGetAttribLocation", "glGetProgramiv", "glGetShaderiv",
    "glGetUniformLocation", "glHint", "glLineWidth", "glLinkProgram", "glShaderSource", "glUniform1f",
    "glUniformMatrix3fv", "glUniformMatrix4fv", "glUseProgram", "glValidateProgram", "glVertexAttrib1f",
    "glVertexAttrib4f", "glVertexAttribPointer", "glViewport", "glGetString", "glGetIntegerv", "glBindBuffer",
    "glBindVertexArray", "glPointSize", "glBlendFunc", "glDepthFunc",
)


def sphere_mesh():
    """The sphere's mesh with its normals, made once (~30 ms, on the launch's import thread)."""
    global _MESH
    if _MESH is None:
        md = gl.MeshData.sphere(rows=32, cols=64, radius=1.0)
        md.vertexNormals()
        md.vertexNormals(indexed="faces")
        md.vertexes(indexed="faces")
        _MESH = md
    return _MESH


def prepare_gl() -> None:
    """What the first frame would otherwise do on the GUI thread and can be done before:
    look up the OpenGL functions, build the sphere's mesh. Needs no OpenGL context."""
    from OpenGL.GL import shaders

    sphere_mesh()
    for module, names in ((GL, GL_FUNCTIONS), (shaders, [n for n in dir(shaders) if n.startswith("gl")])):
        for name in names:
            fn = getattr(module, name, None)
            try:
                if fn is not None:
                    # Truth-testing a PyOpenGL function (plain, wrapped, or one of
                    # alternatives) looks it up, as its first call would.
                    bool(fn)
            except Exception:  # noqa: BLE001  (looked up again on first use, as before)
                pass


def framebuffer(width: int, height: int, samples: int) -> QOpenGLFramebufferObject:
    fmt = QOpenGLFramebufferObjectFormat()
    fmt.setAttachment(QOpenGLFramebufferObject.Attachment.CombinedDepthStencil)
    fmt.setSamples(samples)
    fbo = QOpenGLFramebufferObject(width, height, fmt)
    if not fbo.isValid() and samples:
        return framebuffer(width, height, 0)  # no multisampling here: render without it
    if not fbo.isValid():
        raise RuntimeError(f"could not create a {width}x{height} off-screen buffer")
    return fbo
