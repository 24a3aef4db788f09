"""Sensors: devices, reading ingest (HTTP/SenML and MQTT), alarms and records. (Next issue.)"""
