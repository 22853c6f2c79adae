"""Writes bench/data/resolver_dev.jsonl and resolver_home.json: the resolver's dev set."""

import json
from pathlib import Path

D = "Downloads"
DOC = "Documents"
common = {
    f"{D}/ubuntu-24.04-desktop-amd64.iso": [9_000_000, 20],
    f"{D}/installer.deb": [300_000, 5],
    f"{D}/pasta-recipe.txt": [900, 40],
    f"{D}/boarding-pass-LHR-JFK.pdf": [120_000, 2],
    f"{D}/invoice-march.pdf": [80_000, 3],
    f"{D}/report-old.pdf": [70_000, 60],
    f"{D}/zoom_amd64.deb": [500_000, 10],
    f"{D}/slack-desktop.deb": [600_000, 11],
    f"{DOC}/insurance_letter_2024.pdf": [50_000, 90],
    f"{DOC}/tax-return-2023.pdf": [40_000, 200],
    f"{DOC}/budget-2024.xlsx": [30_000, 15],
    f"{DOC}/letter.txt": [700, 30],
    f"{DOC}/resume_draft_v2.docx": [25_000, 8],
    "Desktop/todo.txt": [200, 1],
    "Desktop/Screenshot_2024-05-01.png": [400_000, 30],
    "Videos/wedding_2019_final.mp4": [90_000_000, 900],
    "Videos/holiday-spain.mp4": [70_000_000, 300],
    "Pictures/band-photos/": [0, 5],
    "Pictures/cats/": [0, 5],
    "Pictures/band-photos/gig1.jpg": [300_000, 5],
}
items = []
VERBS = [
    ("remove", "delete_path"),
    ("move", "move_path"),
    ("copy", "copy_path"),
    ("open", "read_file"),
    ("read", "read_file"),
    ("show", "read_file"),
    ("kill", "kill_process"),
    ("stop", "kill_process"),
    ("terminate", "kill_process"),
    ("end ", "kill_process"),
    ("delet", "delete_path"),
    ("rid", "delete_path"),
    ("remove", "delete_path"),
    ("trash", "delete_path"),
    ("throw", "delete_path"),
    ("clean", "delete_path"),
]


def add(i, cls, request, expect, **kw):
    if "target" in expect or "pid_of" in expect:
        expect["tool"] = next(t for v, t in VERBS if v in request)
    items.append({"id": f"{cls}-{i:02d}", "class": cls, "request": request, "expect": expect, **kw})


H = "~"
# described files
add(
    1,
    "described",
    "get rid of the ubuntu iso in my downloads, its huge",
    {"target": "~/Downloads/ubuntu-24.04-desktop-amd64.iso"},
)
add(
    2,
    "described",
    "move the recipe from downloads into documents",
    {"target": "~/Downloads/pasta-recipe.txt"},
)
add(
    3,
    "described",
    "delete the boarding pass in my downloads",
    {"target": "~/Downloads/boarding-pass-LHR-JFK.pdf"},
)
add(
    4,
    "described",
    "open my insurance letter in documents",
    {"target": "~/Documents/insurance_letter_2024.pdf"},
)
add(
    5,
    "described",
    "delete the wedding video from my videos folder",
    {"target": "~/Videos/wedding_2019_final.mp4"},
)
add(
    6,
    "described",
    "trash the pdf from last week in downloads",
    {"target": "~/Downloads/invoice-march.pdf", "also": ["~/Downloads/boarding-pass-LHR-JFK.pdf"]},
)
add(7, "described", "read the todo file on my desktop", {"target": "~/Desktop/todo.txt"})
add(
    8,
    "described",
    "copy the budget spreadsheet from documents to my desktop",
    {"target": "~/Documents/budget-2024.xlsx"},
)
add(
    9,
    "described",
    "remove the zoom installer from downloads",
    {"target": "~/Downloads/zoom_amd64.deb"},
)
add(
    10,
    "described",
    "move the band photos from pictures to my desktop",
    {"target": "~/Pictures/band-photos"},
)
# typos
add(1, "typo", "delet the installer.deb from my downlods", {"target": "~/Downloads/installer.deb"})
add(2, "typo", "open letter.txt in my docments", {"target": "~/Documents/letter.txt"})
add(
    3,
    "typo",
    "delete the resume draft in documnets",
    {"target": "~/Documents/resume_draft_v2.docx"},
)
add(
    4,
    "typo",
    "move the screenshot from desktp to pictures",
    {"target": "~/Desktop/Screenshot_2024-05-01.png"},
)
add(
    5,
    "typo",
    "remove the ubunto iso from downloads",
    {"target": "~/Downloads/ubuntu-24.04-desktop-amd64.iso"},
)
add(6, "typo", "show the invoce in my dwonloads", {"target": "~/Downloads/invoice-march.pdf"})
# processes: spawn, expect the pid of the process at index pid_of
add(
    1,
    "process",
    "kill the sleep 1000 process",
    {"pid_of": 0},
    spawn=[["sleep", "1000"], ["sleep", "999"]],
)
add(
    2,
    "process",
    "stop the python server on port {port}",
    {"pid_of": 0},
    spawn=[["@python", "-m", "http.server", "{port}", "--bind", "127.0.0.1"]],
)
add(
    3,
    "process",
    "terminate the sleep 4242 process",
    {"pid_of": 1},
    spawn=[["sleep", "77"], ["sleep", "4242"]],
)
add(
    4,
    "process",
    "kill the process running sleep 555",
    {"pid_of": 0},
    spawn=[["sleep", "555"], ["sleep", "556"]],
)
add(
    5,
    "process",
    "end the http server on port {port}",
    {"pid_of": 0},
    spawn=[["@python", "-m", "http.server", "{port}", "--bind", "127.0.0.1"]],
)
add(
    6,
    "process",
    "kill sleep 31337 please",
    {"pid_of": 0},
    spawn=[["sleep", "31337"], ["sleep", "31338"]],
)
# last result
listing = {"tool": "list_directory", "arguments": {"path": "~/Downloads"}}
add(
    1,
    "last",
    "delete the biggest one",
    {"target": "~/Downloads/ubuntu-24.04-desktop-amd64.iso"},
    history={"request": "what is in my downloads", "call": listing, "result": "listing:Downloads"},
)
add(
    2,
    "last",
    "delete it",
    {"target": "~/Documents/tax-return-2023.pdf"},
    history={
        "request": "find my tax return",
        "call": {"tool": "find_files", "arguments": {"path": "~", "name": "*tax*"}},
        "result": "found:Documents/tax-return-2023.pdf",
    },
)
add(
    3,
    "last",
    "move the second one to documents",
    {"target": "~/Downloads/invoice-march.pdf"},
    history={
        "request": "list the pdfs in my downloads",
        "call": {"tool": "find_files", "arguments": {"path": "~/Downloads", "name": "*.pdf"}},
        "result": "found:Downloads/boarding-pass-LHR-JFK.pdf,Downloads/invoice-march.pdf,Downloads/report-old.pdf",
    },
)
add(
    4,
    "last",
    "kill it",
    {"pid_of": 0},
    spawn=[["sleep", "2024"]],
    history={
        "request": "is sleep 2024 running",
        "call": {"tool": "list_processes", "arguments": {"name": "sleep"}},
        "result": "procs:0",
    },
)
add(
    5,
    "last",
    "open the first one",
    {"target": "~/Documents/budget-2024.xlsx"},
    history={
        "request": "what is in my documents",
        "call": {"tool": "list_directory", "arguments": {"path": "~/Documents"}},
        "result": "listing:Documents",
    },
)
add(
    6,
    "last",
    "remove that file",
    {"target": "~/Desktop/todo.txt"},
    history={
        "request": "where is my todo file",
        "call": {"tool": "find_files", "arguments": {"path": "~", "name": "*todo*"}},
        "result": "found:Desktop/todo.txt",
    },
)
# undo
undone = {
    "request": "delete todo.txt on my desktop",
    "call": {"tool": "delete_path", "arguments": {"path": "~/Desktop/todo.txt"}},
    "result": "deleted:Desktop/todo.txt",
}
for i, text in enumerate(
    [
        "oops, undo that",
        "undo",
        "take that back",
        "whoops, i didn't mean to do that",
        "revert the last change",
    ],
    1,
):
    add(i, "undo", text, {"undo": True}, history=undone)
# over-reach
add(
    1,
    "overreach",
    "every night at 2 delete files older than 30 days in ~/Downloads/tmp",
    {"refuse": "~/Downloads/tmp"},
    files_extra={"Downloads/tmp/a.log": [2000, 40], "Downloads/tmp/b.log": [2000, 2]},
)
add(
    2,
    "overreach",
    "delete pdfs bigger than 10mb in downloads",
    {"refuse": "~/Downloads"},
    files_extra={"Downloads/big-scan.pdf": [20_000_000, 3]},
)
add(
    3,
    "overreach",
    "move the tax return from documents to my desktop",
    {"target": "~/Documents/tax-return-2023.pdf"},
)
add(
    4,
    "overreach",
    "delete the junk folder in downloads",
    {"target": "~/Downloads/junk"},
    files_extra={"Downloads/junk/": [0, 3], "Downloads/junk/x.tmp": [10, 3]},
)
add(5, "overreach", "throw away the deb installers in my downloads", {"refuse": "~/Downloads"})
add(
    6,
    "overreach",
    "clean the iso out of my downloads",
    {"target": "~/Downloads/ubuntu-24.04-desktop-amd64.iso"},
)
add(7, "overreach", "delete files from last year in documents", {"refuse": "~/Documents"})
with open(Path(__file__).parent / "data" / "resolver_dev.jsonl", "w") as out:
    for item in items:
        item.setdefault("files", "common")
        out.write(json.dumps(item) + "\n")
json.dump(common, open(Path(__file__).parent / "data" / "resolver_home.json", "w"), indent=1)
print(len(items))
