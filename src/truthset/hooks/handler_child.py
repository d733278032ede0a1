"""Run in a child process (`python -I handler_child.py FILE`): load a hook handler file by
its path, call `lambda_handler(event, context)` with the event read from stdin, and write
the JSON result to stdout. What the handler prints goes to stderr so it cannot corrupt the
result. Kept free of truthset imports: the child starts in a fraction of a second."""

from __future__ import annotations

import importlib.util
import json
import os
import sys
import time
import traceback
import uuid


class LambdaContext:
    """The attributes of AWS Lambda's context object that handlers commonly read."""

    def __init__(self, path: str, deadline: float):
        self.function_name = os.path.splitext(os.path.basename(path))[0]
        self.function_version = "$LATEST"
        self.invoked_function_arn = (
            f"arn:aws:lambda:us-east-1:000000000000:function:{self.function_name}"
        )
        self.memory_limit_in_mb = 128
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{self.function_name}"
        self.log_stream_name = self.aws_request_id
        self._deadline = deadline

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.time()) * 1000))


def main() -> int:
    path, timeout = sys.argv[1], float(sys.argv[2])
    result_out = sys.stdout
    sys.stdout = sys.stderr
    try:
        event = json.loads(sys.stdin.buffer.read())
        sys.path.insert(0, os.path.dirname(path))  # the handler's own helper modules
        spec = importlib.util.spec_from_file_location("truthset_hook_handler", path)
        if spec is None or spec.loader is None:
            raise ImportError(f"{path} cannot be loaded as a Python file")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        handler = getattr(module, "lambda_handler", None)
        if not callable(handler):
            raise AttributeError(f"{path} defines no lambda_handler(event, context)")
        result = handler(event, LambdaContext(path, time.time() + timeout))
        text = json.dumps(result)
    except BaseException as exc:  # the parent reports it; nothing else can
        traceback.print_exc()
        sys.stderr.write(f"\nHANDLER-ERROR: {type(exc).__name__}: {exc}\n")
        return 1
    result_out.write(text)
    result_out.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
