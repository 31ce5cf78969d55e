// Graph API: use-lists, output-name protection, subgraph scoping, clone.
#include "TestUtil.h"

using namespace onnxpress;
using namespace onnxpress::test;

namespace {
const char* kIfModel = R"(
<ir_version: 8, opset_import: ["" : 13]>
g (bool cond, float[2] X) => (float[2] Y)
<float[2] W = {1.0, 2.0}>
{
  A = Add(X, W)
  Y = If(cond) <
    then_branch = t () => (float[2] out) { k = Constant<value = float[2] {3.0, 4.0}>() out = Mul(A, k) },
    else_branch = e () => (float[2] out) { out = Identity(A) }
  >
}
)";
}

TEST(Ir, UseListsIncludeSubgraphReadsAndGraphOutputs) {
  Model m = parseModel(kIfModel);
  Graph& g = m.graph();
  Value* a = g.findValue("A");
  ASSERT_NE(a, nullptr);
  // A is read by Mul in then_branch and Identity in else_branch, both nested.
  ASSERT_EQ(a->uses().size(), 2u);
  for (const Use& u : a->uses()) {
    ASSERT_NE(u.node, nullptr);
    EXPECT_NE(u.node->graph(), &g);
    EXPECT_EQ(u.node->graph()->parent(), &g);
  }
  Value* y = g.findValue("Y");
  EXPECT_TRUE(y->isGraphOutput());
  EXPECT_TRUE(g.verify().isOk()) << g.verify().message();
}

TEST(Ir, ReplaceAllUsesWithProtectsMainGraphOutputNames) {
  Model m = parseModel(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[2] X) => (float[2] Y)
{
  T = Relu(X)
  Y = Identity(T)
}
)");
  Graph& g = m.graph();
  Value* y = g.findValue("Y");
  Value* t = g.findValue("T");
  Value* x = g.findValue("X");
  // Replacing the output by a graph input would rename an input: refused, nothing changes.
  EXPECT_FALSE(g.replaceAllUsesWith(y, x));
  EXPECT_EQ(g.outputs()[0], y);
  // Replacing by an intermediate value moves the output name onto it.
  ASSERT_TRUE(g.replaceAllUsesWith(y, t));
  EXPECT_EQ(g.outputs()[0], t);
  EXPECT_EQ(t->name(), "Y");
  EXPECT_FALSE(y->hasUses());
  g.destroyNode(y->producer());
  EXPECT_TRUE(g.verify().isOk()) << g.verify().message();
  EXPECT_EQ(g.numNodes(), 1u);
  EXPECT_EQ(g.findValue("Y"), t);
}

TEST(Ir, DestroyingANodeWithSubgraphsReleasesOuterUses) {
  Model m = parseModel(kIfModel);
  Graph& g = m.graph();
  Value* a = g.findValue("A");
  Node* ifNode = g.findValue("Y")->producer();
  Value* x = g.findValue("X");
  // Route the graph output around the If, then delete it.
  Node* relu = g.createNode("Relu", {a}, 1);
  ASSERT_TRUE(g.replaceAllUsesWith(ifNode->output(0), relu->output(0)));
  g.destroyNode(ifNode);
  EXPECT_EQ(a->uses().size(), 1u);  // only the new Relu
  EXPECT_EQ(x->uses().size(), 1u);
  EXPECT_TRUE(g.verify().isOk()) << g.verify().message();
}

TEST(Ir, CloneIsDeepAndIdentical) {
  Model m = parseModel(kIfModel);
  Model copy = m.clone();
  std::string diff;
  EXPECT_TRUE(equivalent(toProto(m), toProto(copy), &diff)) << diff;
  // The copy's subgraph reads the copy's A, not the original's.
  Value* copyA = copy.graph().findValue("A");
  ASSERT_EQ(copyA->uses().size(), 2u);
  EXPECT_EQ(m.graph().findValue("A")->uses().size(), 2u);
  for (const Use& u : copyA->uses()) EXPECT_EQ(u.node->graph()->parent(), &copy.graph());
  EXPECT_TRUE(copy.graph().verify().isOk()) << copy.graph().verify().message();
}

TEST(Ir, TopologicalOrderAcceptsUnsortedGraphs) {
  Model m = parseModel(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[2] X) => (float[2] Y)
{
  Y = Relu(T)
  T = Neg(X)
}
)");
  auto order = m.graph().topologicalOrder();
  ASSERT_TRUE(order);
  ASSERT_EQ(order->size(), 2u);
  EXPECT_EQ((*order)[0]->opType(), "Neg");
  EXPECT_EQ((*order)[1]->opType(), "Relu");
}

TEST(Ir, UniqueNamesAvoidEnclosingScopes) {
  Model m = parseModel(kIfModel);
  Graph* thenBranch = m.graph().findValue("Y")->producer()->subgraphs()[0];
  std::string name = thenBranch->uniqueName("A");
  EXPECT_NE(name, "A");
  EXPECT_EQ(m.graph().lookup(name), nullptr);
}
