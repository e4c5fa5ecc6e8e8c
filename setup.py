"""The build hook: a non-editable install has no checkout beside it, so its package
carries the checkout's templates/ and static/, and the parts of node_modules/ the app
serves when `npm ci` has been run (mapping/_shipped/, read by mapping.core.config).
Everything else is declared in setup.cfg."""
import json
import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
# What mapping/core/assets.py serves of each npm package: its manifest and its dist/ folder.
SERVED = ("package.json", "dist")


class BuildPyWithCheckoutFolders(build_py):
    def run(self):
        super().run()
        if getattr(self, "editable_mode", False):
            return  # an editable install reads the checkout itself
        shipped = Path(self.build_lib) / "mapping" / "_shipped"
        shutil.rmtree(shipped, ignore_errors=True)
        for folder in ("templates", "static"):
            shutil.copytree(ROOT / folder, shipped / folder)
        # Without node_modules/ the build still succeeds: the app then refuses to start,
        # saying to run `npm ci` first (mapping.core.assets.check_installed).
        for package in json.loads((ROOT / "package.json").read_text())["dependencies"]:
            source = ROOT / "node_modules" / package
            if not (source / "package.json").is_file():
                continue
            target = shipped / "node_modules" / package
            target.mkdir(parents=True)
            shutil.copy2(source / "package.json", target / "package.json")
            shutil.copytree(source / "dist", target / "dist")


setup(cmdclass={"build_py": BuildPyWithCheckoutFolders})
