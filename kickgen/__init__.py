"""kickgen: YAML profiles -> EL6 kickstarts -> remastered CentOS 6.5 media -> boot-tested.

The package is a line of stages, each a subpackage with a small public entry point:
profile (load) -> kickstart (render, validate) -> offline (closure) -> media (remaster,
inspect) -> vm (boot test, matrix). kickgen.core holds what every stage shares; the
stand-in builder (kickgen.standin) is a test tool, apart from the product; only
kickgen.pipeline and kickgen.cli join stages.
"""

__version__ = "0.1.0"
