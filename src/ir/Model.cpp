#include "onnxpress/ir/Model.h"

namespace onnxpress {

int64_t Model::opsetVersion(const std::string& d) const {
  const std::string wanted = canonicalDomain(d);
  for (const auto& op : opsetImports)
    if (canonicalDomain(op.domain) == wanted) return op.version;
  return 0;
}

Model Model::clone() const {
  Model m;
  m.irVersion = irVersion;
  m.producerName = producerName;
  m.producerVersion = producerVersion;
  m.domain = domain;
  m.docString = docString;
  m.modelVersion = modelVersion;
  m.opsetImports = opsetImports;
  m.metadataProps = metadataProps;
  m.trainingInfo = trainingInfo;
  m.unknownFields = unknownFields;
  m.sourceDirectory = sourceDirectory;
  m.setGraph(graph_->clone());
  for (const auto& f : functions)
    m.functions.push_back({f.name, f.domain, f.docString, f.attributeNames, f.opsetImports,
                           f.body->clone(), f.unknownFields});
  return m;
}

}  // namespace onnxpress
