"""A tiny app for the command-line tests: answers with the worker's pid."""
import os

import fastcore

app = fastcore.App()


@app.get("/pid")
def pid(request, reply):
    return str(os.getpid())
