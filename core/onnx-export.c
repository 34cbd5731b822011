/* core/onnx-export.c: to be written */
