#!/usr/bin/python3
"""Runs an ONNX model with OpenCV's dnn (Debian python3-opencv) on raw float32 NCHW 112x112 inputs;
used by the ONNX export test.   opencv_dnn_run.py MODEL INPUT.bin N OUTPUT.bin"""
import sys

import cv2
import numpy as np

model, inputs, count, output = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
net = cv2.dnn.readNetFromONNX(model)
x = np.fromfile(inputs, dtype=np.float32).reshape(count, 3, 112, 112)
outs = []
for i in range(count):
    net.setInput(x[i:i + 1])
    outs.append(net.forward().astype(np.float32).ravel())
np.concatenate(outs).tofile(output)
