"""Labels to dataset versions, YOLO/COCO import and export, and the synthetic demo scenes."""
