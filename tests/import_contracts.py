"""A contract type for import-linter (see .importlinter): no package uses another's private parts.

A module or a name whose own name starts with an underscore is private to its package:
``from sensors import _rules`` or ``from trace.service import _lineage`` in another top-level
package breaks the contract. (import-linter's own contracts cannot match part of a name.)
"""
import re

from importlinter import Contract, ContractCheck, fields, output

_PRIVATE_NAME = re.compile(r"\bimport\s*\(?\s*(?:[\w.]+\s+as\s+\w+\s*,\s*|\w+\s*,\s*)*_[A-Za-z]\w*")


def _private_module(module):
    return any(part.startswith("_") and not part.startswith("__") for part in module.split("."))


class PrivatePartsContract(Contract):
    packages = fields.ListField(subfield=fields.StringField())

    def check(self, graph, verbose):
        violations = []
        packages = set(self.packages)
        for importer in sorted(graph.modules):
            home = importer.split(".")[0]
            if home not in packages:
                continue
            for imported in sorted(graph.find_modules_directly_imported_by(importer)):
                owner = imported.split(".")[0]
                if owner == home or owner not in packages:
                    continue
                for detail in graph.get_import_details(importer=importer, imported=imported):
                    line = detail["line_contents"]
                    if _private_module(imported) or _PRIVATE_NAME.search(line):
                        violations.append(f"{importer}:{detail['line_number']}: {line}")
        return ContractCheck(kept=not violations, metadata={"violations": violations})

    def render_broken_contract(self, check):
        for violation in check.metadata["violations"]:
            output.print_error(violation, bold=False)
        output.new_line()
