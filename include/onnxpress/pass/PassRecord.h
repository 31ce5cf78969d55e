// Typed records a pass emits for the report, through the sink in its PassContext.
// The pass infrastructure only carries them; each family defines its own record
// types (e.g. passes/quantization/QuantizationRecord.h) and the report reads the
// types it knows with recordsOf<T>().
#pragma once

#include <memory>
#include <utility>
#include <vector>

namespace onnxpress {

/// Base of every typed pass record.
struct PassRecord {
  virtual ~PassRecord() = default;
};

using PassRecords = std::vector<std::shared_ptr<const PassRecord>>;

/// Collects what a pass emits while it runs; the PassManager moves the records into
/// that pass's PassRunRecord when it returns.
class PassRecordSink {
 public:
  void emit(std::shared_ptr<const PassRecord> record) { records_.push_back(std::move(record)); }
  const PassRecords& records() const { return records_; }
  PassRecords take() { return std::exchange(records_, {}); }

 private:
  PassRecords records_;
};

/// The records of type T among `records`, in emission order.
template <typename T>
std::vector<const T*> recordsOf(const PassRecords& records) {
  std::vector<const T*> out;
  for (const auto& r : records)
    if (const T* typed = dynamic_cast<const T*>(r.get())) out.push_back(typed);
  return out;
}

}  // namespace onnxpress
