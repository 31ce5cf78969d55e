// eliminate-identity. Tolerance: exact (rtol = atol = 0). Every rule removes a node
// whose output equals its input value for value (x + 0 may only flip the sign of a
// zero, which compares equal), so outputs must match bit for bit.
#include "BranchTestUtil.h"
#include "FusionTestUtil.h"
#include "PassTestUtil.h"
#include "onnxpress/passes/cleanup/EliminateIdentity.h"

using namespace onnxpress;
using namespace onnxpress::test;

namespace {
PassResult eliminate(Model& m) {
  EliminateIdentityPass pass;
  return runPassOn(pass, m);
}
}  // namespace

TEST(EliminateIdentity, RemovesEveryKindOfNoOpAndKeepsTheOutputName) {
  Model m = parseModel(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[2,3] X) => (float[2,3] Y)
<int64[2] shape = {2, 3}, float one = {1.0}, float[3] zeros = {0.0, 0.0, 0.0}, int64[4] pads = {0, 0, 0, 0},
 int64[2] starts = {0, 0}, int64[2] ends = {2, 9223372036854775807}, int64[0] noAxes = {}, int64[1] e3 = {3}>
{
  a = Identity(X)
  b = Reshape(a, shape)
  c = Transpose<perm = [0, 1]>(b)
  d = Cast<to = 1>(c)
  e = Pad(d, pads)
  f = Slice(e, starts, ends)
  g2 = Mul(f, one)
  h = Add(zeros, g2)
  i = Dropout(h)
  j = Flatten<axis = 1>(i)
  k = Concat<axis = 0>(j)
  l = Unsqueeze(k, noAxes)
  l2 = Expand(l, e3)
  l3 = Squeeze(l2)
  m = Relu(l3)
  Y = Sub(m, zeros)
}
)");
  Model before = m.clone();
  PassResult r = eliminate(m);
  EXPECT_EQ(statistic(r, "Identity removed"), 1);
  EXPECT_EQ(statistic(r, "Dropout removed"), 1);
  for (const char* op : {"Reshape", "Transpose", "Cast", "Pad", "Slice", "Mul", "Add", "Flatten", "Concat", "Unsqueeze",
                         "Expand", "Squeeze", "Sub"})
    EXPECT_EQ(statistic(r, std::string("no-op ") + op + " removed"), 1) << op;
  ASSERT_EQ(m.graph().numNodes(), 1u);
  Node* relu = m.graph().nodeList()[0];
  EXPECT_EQ(relu->opType(), "Relu");
  EXPECT_EQ(relu->input(0), m.graph().inputs()[0]);
  EXPECT_EQ(relu->output(0)->name(), "Y");  // the graph output's name moved onto Relu's output
  EXPECT_EQ(m.graph().outputs()[0], relu->output(0));
  expectSameOutputs(before, m, 0, 0);
}

TEST(EliminateIdentity, KeepsNodesThatChangeValuesShapesOrInterfaceNames) {
  Model m = parseModel(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[2,3] X, float[N,3] Z) => (float[3,2] A, float[2,3] B, float[2,3] C, float[N,3] D, float[1,2,3] F,
                                   float[2,3] G, float[3,2] H)
<int64[2] shape32 = {3, 2}, float[3] twos = {2.0, 2.0, 2.0}, float[3] zeros = {0.0, 0.0, 0.0},
 float[1,2,3] zeros123 = {0.0, 0.0, 0.0, 0.0, 0.0, 0.0}>
{
  x = Relu(X)
  z = Relu(Z)
  A = Reshape(x, shape32)
  B = Mul(x, twos)
  C = Sub(zeros, x)
  D = Squeeze(z)
  F = Add(x, zeros123)
  G = Identity(X)
  H = Transpose(x)
}
)");
  PassResult r = eliminate(m);
  EXPECT_FALSE(r.changed);
  for (const char* op : {"Reshape", "Mul", "Sub", "Squeeze", "Add", "Identity", "Transpose"})
    EXPECT_EQ(countOps(m, op), 1) << op;
}

TEST(EliminateIdentity, ReadsConstantNodeParameters) {
  Model m = parseModel(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[2,3] X) => (float[2,3] Y)
{
  one = Constant<value_float = 1.0>()
  shape = Constant<value = int64[2] {2, -1}>()
  x = Relu(X)
  a = Div(x, one)
  b = Reshape(a, shape)
  Y = Neg(b)
}
)");
  Model before = m.clone();
  PassResult r = eliminate(m);
  EXPECT_EQ(statistic(r, "no-op Div removed"), 1);
  EXPECT_EQ(statistic(r, "no-op Reshape removed"), 1);
  EXPECT_EQ(countOps(m, "Div"), 0);
  EXPECT_EQ(countOps(m, "Reshape"), 0);
  expectSameOutputs(before, m, 0, 0);
}

TEST(EliminateIdentity, KeepsDropoutWhoseMaskIsReadOrThatTrains) {
  Model m = parseModel(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[2] X) => (float[2] Y, bool[2] M, float[2] Z)
<bool train = {1}, float ratio = {0.5}>
{
  a = Relu(X)
  b, M = Dropout(a)
  Y = Relu(b)
  d = Dropout(a, ratio, train)
  Z = Relu(d)
}
)");
  PassResult r = eliminate(m);
  EXPECT_FALSE(r.changed);
  EXPECT_EQ(countOps(m, "Dropout"), 2);
}

TEST(EliminateIdentity, WorksInSubgraphsButKeepsBranchOutputsComputedThere) {
  Model m = parseModel(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (bool c, float[2] X) => (float[2] Y)
{
  A = Neg(X)
  Y = If(c) <
    then_branch = t () => (float[2] o) { a = Identity(A) o = Relu(a) },
    else_branch = e () => (float[2] o) { o = Identity(A) }
  >
}
)");
  Model before = m.clone();
  PassResult r = eliminate(m);
  EXPECT_EQ(statistic(r, "Identity removed"), 1);  // the else branch would output an outer value directly
  EXPECT_EQ(countOps(m, "Identity"), 1);
  Graph* thenBranch = m.graph().nodeList()[1]->subgraphs()[0];
  ASSERT_EQ(thenBranch->numNodes(), 1u);
  EXPECT_EQ(thenBranch->nodeList()[0]->input(0), m.graph().findValue("A"));
  expectSameOutputsOnBothBranches(before, m, 0, 0);
}

TEST(EliminateIdentity, RejectsUnknownOptions) {
  auto created = EliminateIdentityPass::create({{"aggressive", "true"}});
  ASSERT_FALSE(created);
  EXPECT_EQ(created.status().code(), ErrorCode::Usage);
  EXPECT_NE(created.status().message().find("aggressive"), std::string::npos) << created.status().message();
}

TEST(EliminateIdentity, DropsZeroInitialStatesOfRecurrentNodes) {
  // torch's export: h0 = ConstantOfShape(Concat(1, batch, hidden)) of zeros.
  const std::string text = substitute(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[5,2,3] X) => (float[5,1,2,4] Y)
<float[1,16,3] W = $w$, float[1,16,4] R = $r$, int64[1] one = {1}, int64[1] hidden = {4}, float[1,2,4] C0 = {1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0}>
{
  s = Shape(X)
  i = Constant<value = int64[1] {1}>()
  b = Gather(s, i)
  shape = Concat<axis = 0>(one, b, hidden)
  H0 = ConstantOfShape(shape)
  Y, Yh, Yc = LSTM<hidden_size = 4>(X, W, R, , , H0, C0)
}
)", {{"$w$", seededLiteral(48, 3)}, {"$r$", seededLiteral(64, 4)}});
  Model before = parseModel(text.c_str());
  Model m = parseModel(text.c_str());
  EliminateIdentityPass pass;
  PassResult r = runPassOn(pass, m);
  EXPECT_EQ(statistic(r, "zero initial states dropped"), 1) << "C0 is ones: kept";
  Node* lstm = m.graph().findValue("Y")->producer();
  EXPECT_EQ(lstm->input(5), nullptr);
  EXPECT_NE(lstm->input(6), nullptr);
  expectSameOutputs(before, m, 0, 0);
}
