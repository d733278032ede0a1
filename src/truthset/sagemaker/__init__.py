"""SageMaker Ground Truth compatibility: `CreateLabelingJob` requests mapped to truthset
jobs, and the SageMaker API itself (AWS JSON 1.1, Signature Version 4) for the labeling
job and work team calls that existing scripts make (docs/sagemaker.md)."""
