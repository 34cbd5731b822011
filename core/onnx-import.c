/* core/onnx-import.c: to be written */
