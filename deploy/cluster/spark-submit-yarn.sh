#!/usr/bin/env bash
# Train on a YARN cluster: the same batch/train.py the CLI runs, with the project's environment
# shipped as a packed venv (venv-pack) and history, bundles and registry on a volume every node mounts at /mnt/streamscore.
set -euo pipefail
venv-pack -p .venv -o streamscore-venv.tar.gz
export PYSPARK_PYTHON=./environment/bin/python
spark-submit \
  --master yarn --deploy-mode cluster \
  --archives streamscore-venv.tar.gz#environment \
  --conf spark.executor.instances=8 --conf spark.executor.cores=4 --conf spark.executor.memory=8g \
  --conf spark.yarn.appMasterEnv.PYSPARK_PYTHON=./environment/bin/python \
  --conf spark.yarn.appMasterEnv.MLFLOW_TRACKING_URI="${MLFLOW_TRACKING_URI:?set the registry URI}" \
  batch/train.py \
  --pipeline examples/payments/pipeline.yaml \
  --history /mnt/streamscore/payments/history \
  --workdir /mnt/streamscore/work
