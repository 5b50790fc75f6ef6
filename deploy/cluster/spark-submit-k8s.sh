#!/usr/bin/env bash
# Train on Kubernetes with Spark's native scheduler, in the job image (deploy/cluster/Dockerfile).
set -euo pipefail
spark-submit \
  --master "k8s://${K8S_API:?set the Kubernetes API URL}" --deploy-mode cluster \
  --name streamscore-train \
  --conf spark.kubernetes.namespace=streamscore \
  --conf spark.kubernetes.container.image=streamscore/job:0.1.0 \
  --conf spark.kubernetes.authenticate.driver.serviceAccountName=spark \
  --conf spark.executor.instances=8 --conf spark.executor.cores=4 --conf spark.executor.memory=8g \
  --conf spark.kubernetes.driverEnv.PYSPARK_PYTHON=/opt/streamscore/venv/bin/python \
  --conf spark.executorEnv.PYSPARK_PYTHON=/opt/streamscore/venv/bin/python \
  --conf spark.kubernetes.driver.secretKeyRef.MLFLOW_TRACKING_URI=streamscore-mlflow:uri \
  --conf spark.kubernetes.driver.volumes.persistentVolumeClaim.data.mount.path=/mnt/streamscore \
  --conf spark.kubernetes.driver.volumes.persistentVolumeClaim.data.options.claimName=streamscore-data \
  --conf spark.kubernetes.executor.volumes.persistentVolumeClaim.data.mount.path=/mnt/streamscore \
  --conf spark.kubernetes.executor.volumes.persistentVolumeClaim.data.options.claimName=streamscore-data \
  local:///opt/streamscore/venv/lib/python3.11/site-packages/streamscore/batch/train.py \
  --pipeline /opt/streamscore/pipeline/pipeline.yaml \
  --history /mnt/streamscore/payments/history \
  --workdir /mnt/streamscore/work
