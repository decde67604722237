// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {StakingFixture} from "./utils/StakingFixture.sol";
import {StakingManager} from "../src/StakingManager.sol";
import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IAccessControl} from "@openzeppelin/contracts/access/IAccessControl.sol";

/// @dev An ERC-20 without `burn`, as a production deployment might use.
contract PlainToken is ERC20 {
    constructor() ERC20("Plain", "PLN") {}

    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }
}

contract StakingManagerTest is StakingFixture {
    // ------------------------------------------------------------ construction

    function test_RevertWhen_ParamsAreInvalid() public {
        StakingManager.Params memory p = params();
        p.slashBps = 0;
        vm.expectRevert(StakingManager.InvalidParams.selector);
        new StakingManager(token, p, admin);
        p = params();
        p.slashBps = 10_001;
        vm.expectRevert(StakingManager.InvalidParams.selector);
        new StakingManager(token, p, admin);
        p = params();
        p.challengerRewardBps = 10_001;
        vm.expectRevert(StakingManager.InvalidParams.selector);
        new StakingManager(token, p, admin);
        p = params();
        p.unbondingPeriod = 0;
        vm.expectRevert(StakingManager.InvalidParams.selector);
        new StakingManager(token, p, admin);
        vm.expectRevert(StakingManager.InvalidParams.selector);
        new StakingManager(IERC20(address(0)), params(), admin);
        vm.expectRevert(StakingManager.InvalidParams.selector);
        new StakingManager(token, params(), address(0));
    }

    // ------------------------------------------------------------ bond, unbond, withdraw

    function test_BondTakesTokensAndEmits() public {
        address w = address(0x1234);
        token.mint(w, 50 ether);
        vm.startPrank(w);
        token.approve(address(staking), 50 ether);
        vm.expectEmit();
        emit StakingManager.Bonded(w, 50 ether, 50 ether);
        staking.bond(50 ether);
        vm.stopPrank();
        vm.assertEq(staking.getStake(w).bonded, 50 ether, "bonded");
        vm.assertEq(token.balanceOf(address(staking)), 1_050 ether, "tokens held");
    }

    function test_RevertWhen_BondingOrUnbondingZero() public {
        vm.startPrank(worker);
        vm.expectRevert(StakingManager.ZeroAmount.selector);
        staking.bond(0);
        vm.expectRevert(StakingManager.ZeroAmount.selector);
        staking.unbond(0);
        vm.stopPrank();
    }

    function test_RevertWhen_BondingWithoutAllowance() public {
        token.mint(address(0x55), 1 ether);
        vm.prank(address(0x55));
        vm.expectRevert();
        staking.bond(1 ether);
    }

    function test_UnbondWaitsThePeriodThenWithdraws() public {
        vm.expectEmit();
        emit StakingManager.Unbonded(worker, 400 ether, 400 ether, block.timestamp + UNBONDING);
        vm.prank(worker);
        staking.unbond(400 ether);
        StakingManager.Stake memory s = staking.getStake(worker);
        vm.assertEq(s.bonded, 600 ether, "bonded");
        vm.assertEq(s.unbonding, 400 ether, "unbonding");

        vm.warp(block.timestamp + UNBONDING - 1);
        vm.prank(worker);
        vm.expectRevert(abi.encodeWithSelector(StakingManager.UnbondingPending.selector, s.withdrawableAt));
        staking.withdraw();

        vm.warp(block.timestamp + 1);
        vm.expectEmit();
        emit StakingManager.Withdrawn(worker, 400 ether);
        vm.prank(worker);
        staking.withdraw();
        vm.assertEq(token.balanceOf(worker), 400 ether, "tokens back");
        vm.assertEq(staking.getStake(worker).unbonding, 0, "nothing pending");
    }

    function test_SecondUnbondRestartsTheClock() public {
        vm.prank(worker);
        staking.unbond(100 ether);
        vm.warp(block.timestamp + UNBONDING - 10);
        vm.prank(worker);
        staking.unbond(100 ether);
        vm.warp(block.timestamp + 10);
        vm.prank(worker);
        vm.expectRevert(abi.encodeWithSelector(StakingManager.UnbondingPending.selector, block.timestamp + UNBONDING - 10));
        staking.withdraw();
    }

    function test_RevertWhen_UnbondingMoreThanBonded() public {
        vm.prank(worker);
        vm.expectRevert(abi.encodeWithSelector(StakingManager.InsufficientBonded.selector, 1_000 ether, 1_000 ether + 1));
        staking.unbond(1_000 ether + 1);
    }

    function test_RevertWhen_WithdrawingNothing() public {
        vm.prank(worker);
        vm.expectRevert(StakingManager.NothingToWithdraw.selector);
        staking.withdraw();
    }

    // ------------------------------------------------------------ registry

    function test_RegisterPublishesTheOfferAndMakesEligible() public {
        vm.expectEmit();
        emit StakingManager.WorkerRegistered(worker, "https://w.example", 7, bytes32(uint256(9)));
        vm.prank(worker);
        staking.register("https://w.example", 7, bytes32(uint256(9)));
        StakingManager.Registration memory r = staking.getRegistration(worker);
        vm.assertEq(keccak256(bytes(r.serviceURI)), keccak256("https://w.example"), "uri");
        vm.assertEq(r.pricePerPixel, 7, "price");
        vm.assertEq(r.capabilitiesHash, bytes32(uint256(9)), "capabilities");
        vm.assertTrue(staking.isEligible(worker), "eligible");
    }

    function test_RevertWhen_RegisteringBelowMinimumStake() public {
        address w = address(0x77);
        fundAndBond(w, MIN_STAKE - 1);
        vm.prank(w);
        vm.expectRevert(abi.encodeWithSelector(StakingManager.BelowMinimumStake.selector, MIN_STAKE - 1, MIN_STAKE));
        staking.register("x", 1, 0);
    }

    function test_UnbondingBelowMinimumMakesIneligible() public {
        vm.startPrank(worker);
        staking.register("x", 1, 0);
        staking.unbond(1_000 ether - MIN_STAKE + 1);
        vm.stopPrank();
        vm.assertFalse(staking.isEligible(worker), "not eligible below minimum");
    }

    function test_Deregister() public {
        vm.startPrank(worker);
        staking.register("x", 1, 0);
        vm.expectEmit();
        emit StakingManager.WorkerDeregistered(worker);
        staking.deregister();
        vm.expectRevert(StakingManager.NotRegistered.selector);
        staking.deregister();
        vm.stopPrank();
        vm.assertFalse(staking.isEligible(worker), "not eligible");
    }

    // ------------------------------------------------------------ slashing

    function test_SlashTakesTheFractionRewardsBurnsAndJails() public {
        vm.prank(worker);
        staking.register("x", 1, 0);
        uint256 supply = token.totalSupply();
        StakingManager.SlashEvidence memory ev = evidence(1, workerKey);
        vm.expectEmit();
        emit StakingManager.Jailed(worker, block.timestamp + JAIL);
        vm.expectEmit();
        emit StakingManager.Slashed(worker, keccak256(bytes(JOB)), verifier, "720p", 100 ether, 50 ether, 50 ether);
        vm.prank(verifier);
        staking.slash(worker, ev);

        vm.assertEq(staking.getStake(worker).bonded, 900 ether, "10 % slashed");
        vm.assertEq(token.balanceOf(verifier), 50 ether, "challenger rewarded");
        vm.assertEq(token.totalSupply(), supply - 50 ether, "rest burned");
        vm.assertTrue(staking.isJailed(worker), "jailed");
        vm.assertFalse(staking.isEligible(worker), "jailed worker not eligible");
        vm.warp(block.timestamp + JAIL);
        vm.assertFalse(staking.isJailed(worker), "released after the jail period");
        vm.assertTrue(staking.isEligible(worker), "eligible again");
    }

    function test_SlashWorksForEveryLeafOfTheCommitment() public {
        for (uint256 i; i < 4; ++i) {
            address w = vm.addr(workerKey + 1 + i);
            fundAndBond(w, 1_000 ether);
            StakingManager.SlashEvidence memory ev = evidence(i, workerKey + 1 + i);
            vm.prank(verifier);
            staking.slash(w, ev);
            vm.assertEq(staking.getStake(w).bonded, 900 ether, "slashed via this leaf");
        }
    }

    function test_SlashOfAnotherJobKeepsTheLongerJailTerm() public {
        StakingManager.SlashEvidence memory ev = evidence(1, workerKey);
        vm.prank(verifier);
        staking.slash(worker, ev);
        uint256 firstUntil = staking.getStake(worker).jailedUntil;
        vm.warp(block.timestamp + 1 days);
        buildCommitment("stream1.0.43");
        StakingManager.SlashEvidence memory ev2 = evidence(0, workerKey);
        ev2.jobId = "stream1.0.43";
        ev2.signature = signDigest(workerKey, staking.commitmentDigest("stream1.0.43", root));
        vm.prank(verifier);
        staking.slash(worker, ev2);
        StakingManager.Stake memory s = staking.getStake(worker);
        vm.assertEq(s.jailedUntil, block.timestamp + JAIL, "jail extended from the second offence");
        vm.assertGt(s.jailedUntil, firstUntil, "later than the first term");
        vm.assertEq(s.bonded, 810 ether, "10 % of 900");
    }

    function test_SlashReachesUnbondingStake() public {
        vm.prank(worker);
        staking.unbond(1_000 ether); // tries to run with everything
        StakingManager.SlashEvidence memory ev = evidence(0, workerKey);
        vm.prank(verifier);
        staking.slash(worker, ev);
        StakingManager.Stake memory s = staking.getStake(worker);
        vm.assertEq(s.bonded, 0, "nothing bonded");
        vm.assertEq(s.unbonding, 900 ether, "slashed from unbonding");
    }

    function test_RevertWhen_SameEvidenceSlashesTwice() public {
        StakingManager.SlashEvidence memory ev = evidence(1, workerKey);
        vm.startPrank(verifier);
        staking.slash(worker, ev);
        bytes32 offence = keccak256(abi.encode(worker, keccak256(bytes(JOB))));
        vm.expectRevert(abi.encodeWithSelector(StakingManager.AlreadySlashed.selector, offence));
        staking.slash(worker, ev);
        // Another rendition of the same job is the same offence.
        StakingManager.SlashEvidence memory other = evidence(2, workerKey);
        vm.expectRevert(abi.encodeWithSelector(StakingManager.AlreadySlashed.selector, offence));
        staking.slash(worker, other);
        vm.stopPrank();
        vm.assertEq(staking.getStake(worker).bonded, 900 ether, "slashed once");
    }

    function test_RevertWhen_CallerIsNotVerifier() public {
        StakingManager.SlashEvidence memory ev = evidence(1, workerKey);
        bytes32 role = staking.VERIFIER_ROLE();
        vm.prank(address(0xBAD));
        vm.expectRevert(
            abi.encodeWithSelector(IAccessControl.AccessControlUnauthorizedAccount.selector, address(0xBAD), role)
        );
        staking.slash(worker, ev);
    }

    function test_RevertWhen_ClaimedHashEqualsCommittedHash() public {
        StakingManager.SlashEvidence memory ev = evidence(1, workerKey);
        ev.correctHash = ev.committedHash;
        vm.prank(verifier);
        vm.expectRevert(StakingManager.NotADispute.selector);
        staking.slash(worker, ev);
    }

    function test_RevertWhen_CommitmentSignedBySomeoneElse() public {
        StakingManager.SlashEvidence memory ev = evidence(1, 0xE5E);
        vm.prank(verifier);
        vm.expectRevert(StakingManager.InvalidCommitmentSignature.selector);
        staking.slash(worker, ev);
    }

    function test_RevertWhen_RootWasNotTheOneSigned() public {
        StakingManager.SlashEvidence memory ev = evidence(1, workerKey);
        ev.root = keccak256("another root");
        vm.prank(verifier);
        vm.expectRevert(StakingManager.InvalidCommitmentSignature.selector);
        staking.slash(worker, ev);
    }

    function test_RevertWhen_SignatureIsMalformed() public {
        StakingManager.SlashEvidence memory ev = evidence(1, workerKey);
        ev.signature = new bytes(10);
        vm.prank(verifier);
        vm.expectRevert(StakingManager.InvalidCommitmentSignature.selector);
        staking.slash(worker, ev);
    }

    function test_RevertWhen_LeafIsNotInTheCommitment() public {
        StakingManager.SlashEvidence memory ev = evidence(1, workerKey);
        ev.committedHash = keccak256("a hash the worker never committed to");
        vm.prank(verifier);
        vm.expectRevert(StakingManager.InvalidMerkleProof.selector);
        staking.slash(worker, ev);

        ev = evidence(1, workerKey);
        ev.rendition = "1080p"; // right hash, wrong rendition name
        vm.prank(verifier);
        vm.expectRevert(StakingManager.InvalidMerkleProof.selector);
        staking.slash(worker, ev);

        ev = evidence(1, workerKey);
        ev.proof = proofOf(2);
        vm.prank(verifier);
        vm.expectRevert(StakingManager.InvalidMerkleProof.selector);
        staking.slash(worker, ev);
    }

    function test_RevertWhen_WorkerHasNoStake() public {
        vm.prank(worker);
        staking.unbond(1_000 ether);
        vm.warp(block.timestamp + UNBONDING);
        vm.prank(worker);
        staking.withdraw();
        StakingManager.SlashEvidence memory ev = evidence(1, workerKey);
        vm.prank(verifier);
        vm.expectRevert(StakingManager.NothingToSlash.selector);
        staking.slash(worker, ev);
    }

    function test_BurnFallsBackToDeadAddressForPlainTokens() public {
        PlainToken plain = new PlainToken();
        StakingManager sm = new StakingManager(IERC20(address(plain)), params(), admin);
        bytes32 role = sm.VERIFIER_ROLE();
        vm.prank(admin);
        sm.grantRole(role, verifier);
        plain.mint(worker, 1_000 ether);
        vm.startPrank(worker);
        plain.approve(address(sm), 1_000 ether);
        sm.bond(1_000 ether);
        vm.stopPrank();
        StakingManager.SlashEvidence memory ev = evidence(1, workerKey);
        ev.signature = signDigest(workerKey, sm.commitmentDigest(JOB, root));
        vm.prank(verifier);
        sm.slash(worker, ev);
        vm.assertEq(plain.balanceOf(sm.BURN_ADDRESS()), 50 ether, "burned share parked at 0xdEaD");
        vm.assertEq(plain.balanceOf(verifier), 50 ether, "challenger rewarded");
    }

    // ------------------------------------------------------------ fuzz

    function testFuzz_SlashSplitsExactlyAndNeverExceedsStake(uint256 bonded, uint256 unbonded, uint16 bps, uint16 rbps)
        public
    {
        bonded = bound(bonded, 1, 1e28); // uint96 holds 7.9e28
        unbonded = bound(unbonded, 0, bonded);
        bps = uint16(bound(bps, 1, 10_000));
        rbps = uint16(bound(rbps, 0, 10_000));
        StakingManager.Params memory p = params();
        p.slashBps = bps;
        p.challengerRewardBps = rbps;
        staking = new StakingManager(token, p, admin);
        bytes32 role = staking.VERIFIER_ROLE();
        vm.prank(admin);
        staking.grantRole(role, verifier);
        address w = vm.addr(workerKey);
        fundAndBond(w, bonded);
        if (unbonded > 0) {
            vm.prank(w);
            staking.unbond(unbonded);
        }
        uint256 amount = bonded * bps / 10_000;
        StakingManager.SlashEvidence memory ev = evidence(3, workerKey);
        if (amount == 0) {
            vm.prank(verifier);
            vm.expectRevert(StakingManager.NothingToSlash.selector);
            staking.slash(w, ev);
            return;
        }
        uint256 supply = token.totalSupply();
        uint256 rewardBefore = token.balanceOf(verifier);
        vm.prank(verifier);
        staking.slash(w, ev);
        StakingManager.Stake memory s = staking.getStake(w);
        vm.assertEq(uint256(s.bonded) + s.unbonding, bonded - amount, "stake reduced by exactly the slash");
        vm.assertLe(amount, bonded, "never more than the stake");
        uint256 reward = token.balanceOf(verifier) - rewardBefore;
        vm.assertEq(reward, amount * rbps / 10_000, "reward share");
        vm.assertEq(supply - token.totalSupply(), amount - reward, "burn share");
        vm.assertEq(token.balanceOf(address(staking)), uint256(s.bonded) + s.unbonding, "tokens held = stake");
    }

    function testFuzz_UnbondAndWithdrawReturnExactlyWhatWasUnbonded(uint256 amount, uint256 wait) public {
        amount = bound(amount, 1, 1_000 ether);
        wait = bound(wait, 0, 2 * UNBONDING);
        vm.prank(worker);
        staking.unbond(amount);
        vm.warp(block.timestamp + wait);
        vm.prank(worker);
        if (wait < UNBONDING) {
            vm.expectRevert(abi.encodeWithSelector(StakingManager.UnbondingPending.selector, block.timestamp - wait + UNBONDING));
            staking.withdraw();
        } else {
            staking.withdraw();
            vm.assertEq(token.balanceOf(worker), amount, "got back what was unbonded");
        }
        vm.assertEq(token.balanceOf(address(staking)), 1_000 ether - token.balanceOf(worker), "conserved");
    }
}
