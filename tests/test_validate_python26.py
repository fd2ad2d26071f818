"""Python 2.6 syntax check of %pre/%post scripts (EL6's /usr/bin/python is 2.6)."""

from __future__ import annotations

import textwrap

import pytest

from kickgen.kickstart.validate.python26 import check_python26

# Python 2.6 code of the kind kickstart scripts hold: all of it compiles on EL6.
GOOD_26 = textwrap.dedent('''\
    #!/usr/bin/python
    """Set up the host after the install."""
    import os, sys
    import subprocess

    print "configuring", os.uname()[1]
    print >>sys.stderr, "to stderr"
    print
    exec "x = 1" in {}
    names = dict((k, v) for k, v in os.environ.items() if k.startswith('LC_'))
    squares = [n * n for n in range(3)]
    pairs = [n for n in 1, 2, 3]
    mode = 0755 + 0o644 + 0b1 + 0xff + 10L
    text = u'unicode' + ur'raw\\d' + b'bytes' + br'raw' + r'\\n' + `mode`
    if mode <> 0:
        pass
    with open('/etc/hostname') as f:
        hostname = f.read().strip()
    try:
        subprocess.check_call(['true'])
    except (OSError, subprocess.CalledProcessError), e:
        print "failed: %s" % e
    except ValueError as e:
        raise ValueError, "bad value"
    else:
        pass
    finally:
        pass

    class Host(object):
        @property
        def name(self, a, b=1, *args, **kwargs):
            return self.call(a, b=2, *args, **kwargs)

        def call(self, (x, y)=(1, 2), **kw):
            return lambda (p, q), r=0: p + x

    @staticmethod
    def decorated():
        yield 1

    value = 1 if mode else 2
    first = sys.argv[...]
    message = '{0} and {1}'.format(1, 2) + '%d' % 3 + '{{}}'.format()
    print(value)
    nonlocal = 1
    async = 2
    await = async
    print 'done'; sys.exit(0)
''')


def test_good_python26_passes():
    assert check_python26(GOOD_26) == []


def test_print_function_import():
    source = textwrap.dedent('''\
        """docstring first"""
        # a comment
        from __future__ import (division,
                                print_function)
        from __future__ import absolute_import; from __future__ import with_statement
        print("a", "b", sep=", ", end="")
        print(*[1, 2], file=None)
    ''')
    assert check_python26(source) == []


def test_print_with_keywords_needs_the_future_import():
    problems = check_python26('import sys\nprint("a", end="")\n')
    assert len(problems) == 1
    line, column, message = problems[0]
    assert (line, column) == (2, 15)
    assert "print_function" in message


def test_print_function_import_later_does_not_count():
    # python reads future imports only at the top: here print is still a statement, and the import is refused
    problems = check_python26('import os\nfrom __future__ import print_function\nprint "x"\n')
    assert problems == [(2, 1, "from __future__ imports must occur at the beginning of the script")]


# (source, line, column, words in the message); each source is otherwise 2.6 code.
REFUSED = [
    ("import os\nwanted = {'a', 'b'}\n", 2, 10, "set literal"),
    ("x = 1\ny = {x}\n", 2, 5, "set literal"),
    ("ids = {n for n in range(3)}\n", 1, 7, "set comprehension"),
    ("import os\n\nenv = {k: v for k, v in os.environ.items()}\n", 3, 7, "dict comprehension"),
    ("with open('a') as a, open('b') as b:\n    pass\n", 1, 1, "several context managers"),
    ("x = 1\nprint(f'{x}')\n", 2, 7, "f-string"),
    ("data = rb'raw'\n", 1, 8, "string prefix 'rb'"),
    ("big = 1_000\n", 1, 7, "underscore in a number"),
    ("def f(a, *, b):\n    pass\n", 1, 10, "keyword-only"),
    ("def f(a, *args, b=1):\n    pass\n", 1, 17, "keyword-only"),
    ("def f(a: int):\n    pass\n", 1, 7, "argument annotation"),
    ("def f() -> int:\n    pass\n", 1, 9, "return annotation"),
    ("count: int = 0\n", 1, 6, "variable annotation"),
    ("first, *rest = [1, 2, 3]\n", 1, 8, "starred expression"),
    ("try:\n    pass\nexcept OSError as e:\n    raise ValueError('x') from e\n", 4, 27, "raise ... from"),
    ("def g():\n    yield from range(3)\n", 2, 11, "yield from"),
    ("async def g():\n    pass\n", 1, 1, "'async'"),
    ("import numpy\nc = a @ b\n", 2, 7, "'@' operator"),
    ("if (n := 10) > 5:\n    pass\n", 1, 7, "':='"),
    ("d = {**a, 'b': 1}\n", 1, 6, "'**' in a dict display"),
    ("f(*a, *b)\n", 1, 7, "second *args"),
    ("f(**kw, a=1)\n", 1, 9, "after **kwargs"),
    ("f(a=1, 2)\n", 1, 8, "positional argument after a keyword"),
    ("f(*args, 2)\n", 1, 10, "positional argument after *args"),
    ("f(x for x in y, 1)\n", 1, 3, "generator expression"),
    ("g = (x for x in 1, 2)\n", 1, 17, "bare tuple after 'in'"),
    ("f(*args,)\n", 1, 8, "comma after *args"),
    ("def f(**kw,):\n    pass\n", 1, 11, "comma after **kwargs"),
    ("def f(a=1, b):\n    pass\n", 1, 12, "without a default"),
    ("class A(object, metaclass=Meta):\n    pass\n", 1, 17, "class bases"),
    ("x = ...\n", 1, 5, "'...' outside a subscript"),
    ("from __future__ import annotations\n", 1, 24, "'annotations' is not defined in python 2.6"),
    ("x = 1\nprint '{}'.format(x)\n", 2, 7, "numbered fields"),
    ("print '{:>8}'.format(1)\n", 1, 7, "numbered fields"),
    ("# \u2019quoted\u2019\nx = 1\n", 1, 3, "no coding declaration"),
    ("# -*- coding: utf-8 -*-\n\u00e9t\u00e9 = 1\n", 2, 1, "non-ASCII name"),
]


@pytest.mark.parametrize("source, line, column, words", REFUSED, ids=[r[3] for r in REFUSED])
def test_refused_construct_is_reported_at_its_line(source, line, column, words):
    problems = check_python26(source)
    assert len(problems) == 1, problems
    assert problems[0][:2] == (line, column)
    assert words in problems[0][2]


@pytest.mark.parametrize("source, line, column, words", [
    ("import os\nx = (1,\ny = 2\n", 3, 3, "invalid syntax at '='"),
    ("def f():\n    nonlocal x\n", 2, 14, "'nonlocal' is Python 3"),
    ("if True:\nx = 1\n", 2, 1, "expected an indented block"),
    ("x = 1\n  y = 2\n", 2, 1, "unexpected indent"),
    ("if True:\n        a = 1\n    b = 2\n", 3, 5, "unindent does not match"),
    ("x = 1\ns = 'abc\n", 2, 5, "unterminated string literal"),
    ("x = 1\ns = '''abc\n\n", 2, 5, "unterminated triple-quoted string"),
    ("x = [1,\n", 2, 1, "unexpected end of script"),
    ("# coding: nosuchcodec\n", 1, None, "unknown encoding"),
])
def test_syntax_errors(source, line, column, words):
    problems = check_python26(source)
    assert len(problems) == 1, problems
    assert problems[0][:2] == (line, column)
    assert words in problems[0][2]


def test_several_problems_in_line_order():
    source = "a = {1}\nwith x, y:\n    pass\nb = {k: 1 for k in a}\n"
    assert [(line, column) for line, column, _ in check_python26(source)] == [(1, 5), (2, 1), (4, 5)]


def test_line_endings_and_missing_final_newline():
    assert check_python26("import os\r\nx = 1") == []
    assert [p[0] for p in check_python26("import os\r\nx = {1}")] == [2]


def test_empty_script():
    assert check_python26("") == []
    assert check_python26("# only a comment\n") == []


def test_byte_order_mark_declares_utf8():
    assert check_python26("\ufeff# caf\u00e9\nx = 1\n") == []
