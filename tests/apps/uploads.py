"""Uploads over a real socket (tests/test_uploads.py): multipart bodies past 1 MiB are spooled to
disk by the core and parsed from the file in chunks; the routes report what they read and the
process's peak memory, so a test can tell that an upload was never held in memory whole.

Run: ``python tests/apps/uploads.py --port 0 [--setting value ...]`` (see _runner.py).
"""

import hashlib

from turboapi import File, Form, TurboAPI, UploadFile

app = TurboAPI()


def memory_kb() -> dict[str, int]:
    fields = {}
    with open("/proc/self/status") as f:
        for line in f:
            name, _, value = line.partition(":")
            if name in ("VmHWM", "VmRSS"):
                fields[name] = int(value.split()[0])
    return {"peak_rss_kb": fields["VmHWM"], "rss_kb": fields["VmRSS"]}


@app.get("/memory")
def memory():
    return memory_kb()


@app.post("/upload")
async def upload(file: UploadFile, note: str = Form("")):
    digest = hashlib.sha256()
    size = 0
    while chunk := await file.read(256 * 1024):
        digest.update(chunk)
        size += len(chunk)
    return {"filename": file.filename, "size": size, "sha256": digest.hexdigest(), "note": note, **memory_kb()}


@app.post("/small")
def small(data: bytes = File()):
    return {"size": len(data)}


@app.post("/json")
def json_body(payload: dict):
    return {"keys": len(payload)}


if __name__ == "__main__":
    import _runner

    _runner.run(app)
