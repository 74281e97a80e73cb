"""Packaging for ce-credit: the CE engine, the Open edX XBlock and the LTI 1.3 tool."""

import os

from setuptools import find_packages, setup


def package_data(pkg, roots):
    """Every file under the given roots of a package, as paths relative to the package.

    `static/` and `translations/` live at the top of the repository and are symlinked into
    `ce_xblock/`, where Open edX looks for them. Walking the links here puts the real files
    into sdists and wheels.
    """
    data = []
    for root in roots:
        for dirname, _, files in os.walk(os.path.join(pkg, root), followlinks=True):
            for fname in files:
                data.append(os.path.relpath(os.path.join(dirname, fname), pkg))
    return {pkg: data}


here = os.path.abspath(os.path.dirname(__file__))
with open(os.path.join(here, "README.md"), encoding="utf-8") as f:
    long_description = f.read()

setup(
    name="ce-credit",
    version="0.1.0",
    description="Continuing-education credit: post-test, evaluation and certificates for Open edX and LTI 1.3",
    long_description=long_description,
    long_description_content_type="text/markdown",
    license="AGPL-3.0",
    python_requires=">=3.11",
    packages=find_packages(include=["ce_xblock", "ce_xblock.*", "lti_tool", "lti_tool.*"]),
    include_package_data=False,
    package_data=package_data("ce_xblock", ["static", "translations", "templates", "fonts", "examples"]),
    install_requires=[
        "lxml>=5",
        "nh3>=0.3",
        "Babel>=2.14",
        "click>=8.1",
        "cryptography>=42",
        "reportlab>=4.2",
        "qrcode>=7.4",
        "arabic-reshaper>=3",
        "python-bidi>=0.4",
        "openpyxl>=3.1",
        # The certificate credential (VC-JWT, EdDSA) and reportlab's C speed-ups (PDF in <10 ms).
        "PyJWT[crypto]>=2.8,<3",
        "rl_accel>=0.9",
        # XBlock 6.2+ needs Python 3.12; on 3.11 pip takes 6.1 or 5.x. web-fragments is XBlock's own.
        "XBlock>=5",
    ],
    extras_require={
        "lti": [
            "Flask>=3",
            "SQLAlchemy>=2",
            "alembic>=1.13",
            "PyJWT[crypto]>=2.8",
            "pylti1p3next>=2.0.2",
            "gunicorn>=22",
            "redis>=5",
            "psycopg[binary]>=3.1",
            "requests>=2.31",
            "orjson>=3.10",  # the learner API's, the state column's and the cache's JSON (lti_tool/jsonio.py)
            # the demo LMS behind `ce-credit demo` (lti_tool/demo_lms); the README's first command needs it
            "lti1p3platform>=0.1.8",
        ],
        "dev": [
            "pytest>=8",
            "hypothesis>=6.100",
            "ruff==0.17.6",  # pinned: ruff format also formats the Python blocks in docs/*.md
            "jsonschema[format-nongpl]>=4.20",  # with the format checkers: date-time, uri
            "xblock-sdk>=0.14",
            "XBlock[django]>=5",
            "Django>=4.2,<6",
            "playwright>=1.45",
            "build",
        ],
    },
    entry_points={
        "xblock.v1": ["ce_credit = ce_xblock.block:CECreditBlock"],
        "console_scripts": ["ce-credit = ce_xblock.cli:main"],
    },
    classifiers=[
        "Programming Language :: Python :: 3.11",
        "Programming Language :: Python :: 3.12",
        "Framework :: Django",
    ],
)
