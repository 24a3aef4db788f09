"""Traceability: harvest batches, EPCIS journey events, lineage, QR codes. (Next issue.)"""
