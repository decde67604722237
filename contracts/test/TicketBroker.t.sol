// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {BrokerFixture} from "./utils/BrokerFixture.sol";
import {TicketBroker} from "../src/TicketBroker.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";

/// @dev A recipient contract that refuses ETH.
contract RejectsEther {}

/// @dev A recipient that, when paid, tries to redeem the same ticket again.
contract Reenterer {
    TicketBroker internal immutable broker;
    TicketBroker.Ticket internal ticket;
    bytes internal sig;
    uint256 internal rand;

    constructor(TicketBroker broker_) {
        broker = broker_;
    }

    function arm(TicketBroker.Ticket memory t, bytes memory s, uint256 r) external {
        ticket = t;
        sig = s;
        rand = r;
    }

    receive() external payable {
        broker.redeemWinningTicket(ticket, sig, rand);
    }
}

contract TicketBrokerTest is BrokerFixture {
    uint256 internal constant RAND = 42;

    // ------------------------------------------------------------ construction and funding

    function test_RevertWhen_ConstructedWithZeroParams() public {
        vm.expectRevert(TicketBroker.InvalidParams.selector);
        new TicketBroker(0, 1);
        vm.expectRevert(TicketBroker.InvalidParams.selector);
        new TicketBroker(1, 0);
    }

    function test_FundDepositAndReserveBookFundsAndEmit() public {
        vm.expectEmit();
        emit TicketBroker.DepositFunded(sender, 3 ether, 3 ether);
        vm.expectEmit();
        emit TicketBroker.ReserveFunded(sender, 2 ether, 2 ether);
        vm.prank(sender);
        broker.fundDepositAndReserve{value: 5 ether}(3 ether, 2 ether);
        TicketBroker.Sender memory s = broker.getSender(sender);
        vm.assertEq(s.deposit, 3 ether, "deposit");
        vm.assertEq(s.reserve, 2 ether, "reserve");
        vm.assertEq(address(broker).balance, 5 ether, "broker holds the ETH");
    }

    function test_RevertWhen_FundingZero() public {
        vm.startPrank(sender);
        vm.expectRevert(TicketBroker.ZeroValue.selector);
        broker.fundDeposit();
        vm.expectRevert(TicketBroker.ZeroValue.selector);
        broker.fundReserve();
        vm.expectRevert(TicketBroker.ZeroValue.selector);
        broker.fundDepositAndReserve(0, 0);
        vm.stopPrank();
    }

    function test_RevertWhen_SplitDoesNotMatchValue() public {
        vm.prank(sender);
        vm.expectRevert(TicketBroker.ValueMismatch.selector);
        broker.fundDepositAndReserve{value: 1 ether}(1 ether, 1);
    }

    // ------------------------------------------------------------ redemption: happy paths

    function test_RedeemPaysFaceValueFromDeposit() public {
        fundDeposit(1 ether);
        TicketBroker.Ticket memory t = ticketFor(recipient, 0.25 ether, RAND);
        bytes32 h = broker.ticketHash(t);
        vm.expectEmit();
        emit TicketBroker.WinningTicketRedeemed(h, sender, recipient, 0.25 ether, t.senderNonce);
        redeem(t, RAND);
        vm.assertEq(recipient.balance, 0.25 ether, "recipient paid face value");
        vm.assertEq(broker.getSender(sender).deposit, 0.75 ether, "deposit reduced");
        vm.assertTrue(broker.usedTickets(h), "ticket marked used");
    }

    function test_RedeemTopsUpFromReserveShare() public {
        fundDeposit(1 ether);
        fundReserve(4 ether); // 4 shares of 1 ether
        TicketBroker.Ticket memory t = ticketFor(recipient, 1.5 ether, RAND);
        vm.expectEmit();
        emit TicketBroker.ReserveClaimed(sender, recipient, 0.5 ether);
        redeem(t, RAND);
        vm.assertEq(recipient.balance, 1.5 ether, "paid in full");
        TicketBroker.Sender memory s = broker.getSender(sender);
        vm.assertEq(s.deposit, 0, "deposit emptied first");
        vm.assertEq(s.reserve, 3.5 ether, "reserve paid the rest");
        vm.assertEq(broker.claimableReserve(sender, recipient), 0.5 ether, "share left");
        vm.assertEq(broker.claimableReserve(sender, recipient2), 1 ether, "others keep a full share");
    }

    function test_RedeemIsOpenToAnyCallerButPaysTheRecipient() public {
        fundDeposit(1 ether);
        TicketBroker.Ticket memory t = ticketFor(recipient, 1 ether, RAND);
        bytes memory sig = sign(senderKey, t);
        vm.prank(address(0xDEAD));
        broker.redeemWinningTicket(t, sig, RAND);
        vm.assertEq(recipient.balance, 1 ether, "recipient paid");
        vm.assertEq(address(0xDEAD).balance, 0, "caller not paid");
    }

    // ------------------------------------------------------------ redemption: every revert

    function test_RevertWhen_FaceValueIsZero() public {
        fundDeposit(1 ether);
        TicketBroker.Ticket memory t = ticketFor(recipient, 0, RAND);
        bytes memory sig = sign(senderKey, t);
        vm.expectRevert(TicketBroker.ZeroFaceValue.selector);
        broker.redeemWinningTicket(t, sig, RAND);
    }

    function test_RevertWhen_RecipientIsZero() public {
        fundDeposit(1 ether);
        TicketBroker.Ticket memory t = ticketFor(address(0), 1, RAND);
        bytes memory sig = sign(senderKey, t);
        vm.expectRevert(TicketBroker.InvalidRecipient.selector);
        broker.redeemWinningTicket(t, sig, RAND);
    }

    function test_RevertWhen_TicketExpired() public {
        fundDeposit(1 ether);
        TicketBroker.Ticket memory t = ticketFor(recipient, 1, RAND);
        bytes memory sig = sign(senderKey, t);
        vm.warp(t.expiry + 1);
        vm.expectRevert(abi.encodeWithSelector(TicketBroker.TicketExpired.selector, t.expiry));
        broker.redeemWinningTicket(t, sig, RAND);
    }

    function test_RedeemsAtTheExpirySecond() public {
        fundDeposit(1 ether);
        TicketBroker.Ticket memory t = ticketFor(recipient, 1, RAND);
        bytes memory sig = sign(senderKey, t);
        vm.warp(t.expiry);
        broker.redeemWinningTicket(t, sig, RAND);
        vm.assertEq(recipient.balance, 1, "paid at expiry");
    }

    function test_RevertWhen_RecipientRandDoesNotMatchHash() public {
        fundDeposit(1 ether);
        TicketBroker.Ticket memory t = ticketFor(recipient, 1, RAND);
        bytes memory sig = sign(senderKey, t);
        vm.expectRevert(TicketBroker.InvalidRecipientRand.selector);
        broker.redeemWinningTicket(t, sig, RAND + 1);
    }

    function test_RevertWhen_TicketRedeemedTwice() public {
        fundDeposit(1 ether);
        TicketBroker.Ticket memory t = ticketFor(recipient, 1, RAND);
        bytes memory sig = sign(senderKey, t);
        broker.redeemWinningTicket(t, sig, RAND);
        vm.expectRevert(abi.encodeWithSelector(TicketBroker.TicketAlreadyUsed.selector, broker.ticketHash(t)));
        broker.redeemWinningTicket(t, sig, RAND);
    }

    function test_RevertWhen_SignedByAnotherKey() public {
        fundDeposit(1 ether);
        TicketBroker.Ticket memory t = ticketFor(recipient, 1, RAND);
        bytes memory sig = sign(0xBAD, t);
        vm.expectRevert(TicketBroker.InvalidSignature.selector);
        broker.redeemWinningTicket(t, sig, RAND);
    }

    function test_RevertWhen_SignatureHasWrongLength() public {
        fundDeposit(1 ether);
        TicketBroker.Ticket memory t = ticketFor(recipient, 1, RAND);
        vm.expectRevert(TicketBroker.InvalidSignature.selector);
        broker.redeemWinningTicket(t, new bytes(64), RAND);
    }

    function test_RevertWhen_SignatureIsTheMalleableTwin() public {
        // Flipping s to n - s gives a second valid ECDSA signature; accepting it would let a
        // recipient draw the lottery twice for one ticket.
        fundDeposit(1 ether);
        TicketBroker.Ticket memory t = ticketFor(recipient, 1, RAND);
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(senderKey, broker.ticketHash(t));
        uint256 n = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141;
        bytes memory twin = abi.encodePacked(r, bytes32(n - uint256(s)), v == 27 ? uint8(28) : uint8(27));
        vm.expectRevert(TicketBroker.InvalidSignature.selector);
        broker.redeemWinningTicket(t, twin, RAND);
    }

    function test_RevertWhen_TicketDoesNotWin() public {
        fundDeposit(1 ether);
        TicketBroker.Ticket memory t = ticketFor(recipient, 1, RAND);
        t.winProb = 0;
        bytes memory sig = sign(senderKey, t);
        vm.expectRevert(TicketBroker.NotWinningTicket.selector);
        broker.redeemWinningTicket(t, sig, RAND);
    }

    function test_RevertWhen_DepositAndReserveShareCannotCoverFaceValue() public {
        fundDeposit(1 ether);
        fundReserve(4 ether); // share 1 ether
        TicketBroker.Ticket memory t = ticketFor(recipient, 2 ether + 1, RAND);
        bytes memory sig = sign(senderKey, t);
        vm.expectRevert(abi.encodeWithSelector(TicketBroker.InsufficientFunds.selector, 2 ether + 1, 2 ether));
        broker.redeemWinningTicket(t, sig, RAND);
        vm.assertFalse(broker.usedTickets(broker.ticketHash(t)), "ticket still unused");
        vm.assertEq(broker.getSender(sender).deposit, 1 ether, "deposit untouched");
    }

    function test_RevertWhen_RecipientRejectsPayment() public {
        address rejecter = address(new RejectsEther());
        fundDeposit(1 ether);
        TicketBroker.Ticket memory t = ticketFor(rejecter, 1, RAND);
        bytes memory sig = sign(senderKey, t);
        vm.expectRevert(abi.encodeWithSelector(TicketBroker.PaymentFailed.selector, rejecter));
        broker.redeemWinningTicket(t, sig, RAND);
    }

    function test_RevertWhen_RecipientReentersOnPayment() public {
        Reenterer attacker = new Reenterer(broker);
        fundDeposit(2 ether);
        TicketBroker.Ticket memory t = ticketFor(address(attacker), 1 ether, RAND);
        bytes memory sig = sign(senderKey, t);
        attacker.arm(t, sig, RAND);
        // The nested call hits the reentrancy guard, so the payment (and the whole redemption) fails.
        vm.expectRevert(abi.encodeWithSelector(TicketBroker.PaymentFailed.selector, address(attacker)));
        broker.redeemWinningTicket(t, sig, RAND);
        vm.assertEq(broker.getSender(sender).deposit, 2 ether, "deposit untouched");
    }

    function test_RevertWhen_DepositWouldOverflowUint128() public {
        address whale = address(0x3A1E);
        vm.deal(whale, uint256(type(uint128).max) + 1);
        vm.prank(whale);
        // The deposit is stored in 128 bits: SafeCast refuses rather than truncating.
        vm.expectRevert(
            abi.encodeWithSelector(SafeCast.SafeCastOverflowedUintDowncast.selector, 128, uint256(type(uint128).max) + 1)
        );
        broker.fundDeposit{value: uint256(type(uint128).max) + 1}();
    }

    // ------------------------------------------------------------ the 1-wei front-run

    /// Livepeer's broker paid whatever deposit was there and burned the ticket: a sender with an
    /// empty deposit who saw a winning ticket in the mempool topped up 1 wei first and the ticket
    /// paid 1 wei. Here the redemption reverts, the ticket stays unused and pays in full later.
    function test_OneWeiTopUpFrontRunCannotShortPayAWinningTicket() public {
        fundDeposit(1 ether);
        TicketBroker.Ticket memory spend = ticketFor(recipient2, 1 ether, RAND);
        redeem(spend, RAND); // the sender's deposit is now empty
        vm.assertEq(broker.getSender(sender).deposit, 0, "deposit empty");

        TicketBroker.Ticket memory t = ticketFor(recipient, 1 ether, RAND);
        bytes memory sig = sign(senderKey, t);

        // Front-run: the sender tops up 1 wei just before the recipient's redemption lands.
        fundDeposit(1);
        vm.expectRevert(abi.encodeWithSelector(TicketBroker.InsufficientFunds.selector, 1 ether, 1));
        broker.redeemWinningTicket(t, sig, RAND);

        vm.assertEq(recipient.balance, 0, "not short-paid");
        vm.assertFalse(broker.usedTickets(broker.ticketHash(t)), "ticket not burned");
        vm.assertEq(broker.getSender(sender).deposit, 1, "the 1 wei stays in the deposit");

        // Once the sender funds the deposit again, the same ticket pays its full face value.
        fundDeposit(1 ether);
        broker.redeemWinningTicket(t, sig, RAND);
        vm.assertEq(recipient.balance, 1 ether, "paid in full after top-up");
        vm.assertEq(broker.getSender(sender).deposit, 1, "deposit = 1 wei + 1 ether - 1 ether");
    }

    // ------------------------------------------------------------ reserve shares

    function test_ReserveShareCapsEachRecipient() public {
        fundReserve(4 ether); // 4 shares of 1 ether, no deposit
        redeem(ticketFor(recipient, 0.6 ether, RAND), RAND);
        TicketBroker.Ticket memory t = ticketFor(recipient, 0.6 ether, RAND);
        bytes memory sig = sign(senderKey, t);
        vm.expectRevert(abi.encodeWithSelector(TicketBroker.InsufficientFunds.selector, 0.6 ether, 0.4 ether));
        broker.redeemWinningTicket(t, sig, RAND);
        // Another recipient's share is untouched by the first one's claims.
        redeem(ticketFor(recipient2, 1 ether, RAND), RAND);
        vm.assertEq(recipient2.balance, 1 ether, "second recipient gets its full share");
        vm.assertEq(broker.claimedReserve(sender, 0, recipient), 0.6 ether, "claims tracked per recipient");
    }

    function test_ReserveTopUpGrowsShares() public {
        fundReserve(4 ether);
        redeem(ticketFor(recipient, 1 ether, RAND), RAND);
        vm.assertEq(broker.claimableReserve(sender, recipient), 0, "share used up");
        fundReserve(4 ether); // shares are now (7 + 1) / 4 = 2 ether
        vm.assertEq(broker.claimableReserve(sender, recipient), 1 ether, "share grew");
    }

    // ------------------------------------------------------------ unlock and withdraw

    function test_UnlockThenWithdrawReturnsEverything() public {
        vm.prank(sender);
        broker.fundDepositAndReserve{value: 3 ether}(2 ether, 1 ether);
        uint256 before = sender.balance;
        vm.expectEmit();
        emit TicketBroker.Unlock(sender, block.timestamp + UNLOCK_PERIOD);
        vm.prank(sender);
        broker.unlock();

        vm.warp(block.timestamp + UNLOCK_PERIOD - 1);
        vm.prank(sender);
        vm.expectRevert(abi.encodeWithSelector(TicketBroker.UnlockPending.selector, block.timestamp + 1));
        broker.withdraw();

        vm.warp(block.timestamp + 1);
        vm.expectEmit();
        emit TicketBroker.Withdrawal(sender, 2 ether, 1 ether);
        vm.prank(sender);
        broker.withdraw();
        vm.assertEq(sender.balance, before + 3 ether, "all funds back");
        TicketBroker.Sender memory s = broker.getSender(sender);
        vm.assertEq(s.deposit + s.reserve, 0, "nothing left");
        vm.assertEq(s.epoch, 1, "new reserve epoch");
    }

    function test_WithdrawStartsAFreshReserveEpoch() public {
        fundReserve(4 ether);
        redeem(ticketFor(recipient, 1 ether, RAND), RAND);
        vm.startPrank(sender);
        broker.unlock();
        vm.warp(block.timestamp + UNLOCK_PERIOD);
        broker.withdraw();
        broker.fundReserve{value: 4 ether}();
        vm.stopPrank();
        vm.assertEq(broker.claimableReserve(sender, recipient), 1 ether, "old claims forgotten");
    }

    function test_RedemptionsStillWorkWhileUnlocking() public {
        fundDeposit(1 ether);
        vm.prank(sender);
        broker.unlock();
        redeem(ticketFor(recipient, 1 ether, RAND), RAND);
        vm.assertEq(recipient.balance, 1 ether, "paid during unlock period");
    }

    function test_FundingCancelsUnlock() public {
        fundDeposit(1 ether);
        vm.prank(sender);
        broker.unlock();
        vm.expectEmit();
        emit TicketBroker.UnlockCancelled(sender);
        fundReserve(1);
        vm.assertEq(broker.getSender(sender).withdrawAfter, 0, "locked again");
        vm.warp(block.timestamp + UNLOCK_PERIOD);
        vm.prank(sender);
        vm.expectRevert(TicketBroker.NotUnlocking.selector);
        broker.withdraw();
    }

    function test_CancelUnlock() public {
        fundDeposit(1 ether);
        vm.startPrank(sender);
        broker.unlock();
        vm.expectEmit();
        emit TicketBroker.UnlockCancelled(sender);
        broker.cancelUnlock();
        vm.expectRevert(TicketBroker.NotUnlocking.selector);
        broker.cancelUnlock();
        vm.stopPrank();
    }

    function test_RevertWhen_UnlockingNothingOrTwice() public {
        vm.prank(sender);
        vm.expectRevert(TicketBroker.NothingToUnlock.selector);
        broker.unlock();
        fundDeposit(1);
        vm.startPrank(sender);
        broker.unlock();
        vm.expectRevert(TicketBroker.AlreadyUnlocking.selector);
        broker.unlock();
        vm.stopPrank();
    }

    function test_RevertWhen_WithdrawingWithoutUnlock() public {
        fundDeposit(1 ether);
        vm.prank(sender);
        vm.expectRevert(TicketBroker.NotUnlocking.selector);
        broker.withdraw();
    }

    // ------------------------------------------------------------ batches

    function test_BatchRedeemsAndPaysEachRecipientOnce() public {
        fundDeposit(10 ether);
        uint256 n = 5;
        TicketBroker.Ticket[] memory ts = new TicketBroker.Ticket[](n);
        bytes[] memory sigs = new bytes[](n);
        uint256[] memory rands = new uint256[](n);
        for (uint256 i; i < n; ++i) {
            ts[i] = ticketFor(i < 3 ? recipient : recipient2, 1 ether, RAND + i);
            sigs[i] = sign(senderKey, ts[i]);
            rands[i] = RAND + i;
        }
        uint256 redeemed = broker.batchRedeemWinningTickets(ts, sigs, rands);
        vm.assertEq(redeemed, 5, "all redeemed");
        vm.assertEq(recipient.balance, 3 ether, "first recipient");
        vm.assertEq(recipient2.balance, 2 ether, "second recipient");
        vm.assertEq(broker.getSender(sender).deposit, 5 ether, "deposit reduced by the sum");
    }

    function test_BatchSkipsBadTicketsAndReportsWhy() public {
        fundDeposit(10 ether);
        TicketBroker.Ticket[] memory ts = new TicketBroker.Ticket[](3);
        bytes[] memory sigs = new bytes[](3);
        uint256[] memory rands = new uint256[](3);
        for (uint256 i; i < 3; ++i) {
            ts[i] = ticketFor(recipient, 1 ether, RAND);
            sigs[i] = sign(senderKey, ts[i]);
            rands[i] = RAND;
        }
        rands[1] = RAND + 1; // wrong secret
        vm.expectEmit();
        emit TicketBroker.TicketSkipped(
            broker.ticketHash(ts[1]), recipient, abi.encodeWithSelector(TicketBroker.InvalidRecipientRand.selector)
        );
        uint256 redeemed = broker.batchRedeemWinningTickets(ts, sigs, rands);
        vm.assertEq(redeemed, 2, "two redeemed");
        vm.assertEq(recipient.balance, 2 ether, "only the good ones paid");
        vm.assertFalse(broker.usedTickets(broker.ticketHash(ts[1])), "skipped ticket stays unused");
    }

    function test_BatchRejectsADuplicateWithinItself() public {
        fundDeposit(10 ether);
        TicketBroker.Ticket[] memory ts = new TicketBroker.Ticket[](2);
        bytes[] memory sigs = new bytes[](2);
        uint256[] memory rands = new uint256[](2);
        ts[0] = ticketFor(recipient, 1 ether, RAND);
        ts[1] = ts[0];
        sigs[0] = sign(senderKey, ts[0]);
        sigs[1] = sigs[0];
        rands[0] = RAND;
        rands[1] = RAND;
        vm.assertEq(broker.batchRedeemWinningTickets(ts, sigs, rands), 1, "duplicate skipped");
        vm.assertEq(recipient.balance, 1 ether, "paid once");
    }

    function test_RevertWhen_BatchLengthsDiffer() public {
        vm.expectRevert(TicketBroker.LengthMismatch.selector);
        broker.batchRedeemWinningTickets(new TicketBroker.Ticket[](1), new bytes[](0), new uint256[](1));
    }

    // ------------------------------------------------------------ fuzz

    function testFuzz_RedeemPaysExactlyFaceValueOrNothing(uint256 deposit, uint256 reserve, uint256 faceValue)
        public
    {
        deposit = bound(deposit, 0, 100 ether);
        reserve = bound(reserve, 0, 100 ether);
        faceValue = bound(faceValue, 1, 300 ether);
        if (deposit > 0) fundDeposit(deposit);
        if (reserve > 0) fundReserve(reserve);
        TicketBroker.Ticket memory t = ticketFor(recipient, faceValue, RAND);
        bytes memory sig = sign(senderKey, t);
        uint256 available = deposit + reserve / RESERVE_RECIPIENTS;
        if (faceValue > available) {
            vm.expectRevert(abi.encodeWithSelector(TicketBroker.InsufficientFunds.selector, faceValue, available));
            broker.redeemWinningTicket(t, sig, RAND);
            vm.assertEq(recipient.balance, 0, "nothing paid");
        } else {
            broker.redeemWinningTicket(t, sig, RAND);
            vm.assertEq(recipient.balance, faceValue, "face value paid");
        }
        TicketBroker.Sender memory s = broker.getSender(sender);
        vm.assertEq(address(broker).balance, uint256(s.deposit) + s.reserve, "broker balance = funds booked");
    }

    function testFuzz_WinsExactlyWhenHashBelowWinProb(uint256 winProb, uint256 rand) public {
        fundDeposit(1 ether);
        TicketBroker.Ticket memory t = ticketFor(recipient, 1, rand);
        t.winProb = winProb;
        bytes memory sig = sign(senderKey, t);
        bool wins = uint256(keccak256(abi.encodePacked(sig, rand))) < winProb;
        vm.assertEq(broker.isWinningTicket(sig, rand, winProb), wins, "view agrees with the formula");
        if (!wins) vm.expectRevert(TicketBroker.NotWinningTicket.selector);
        broker.redeemWinningTicket(t, sig, rand);
        vm.assertEq(recipient.balance, wins ? 1 : 0, "paid only when winning");
    }

    function testFuzz_AnyAlteredFieldBreaksTheSignature(uint8 field, uint256 delta) public {
        fundDeposit(1 ether);
        TicketBroker.Ticket memory t = ticketFor(recipient, 1, RAND);
        bytes memory sig = sign(senderKey, t);
        delta = bound(delta, 1, 1e18);
        field = uint8(bound(field, 0, 4));
        // forge-lint: disable-next-line(unsafe-typecast) -- delta <= 1e18
        if (field == 0) t.recipient = address(uint160(t.recipient) + uint160(delta));
        else if (field == 1) t.faceValue += delta;
        else if (field == 2) t.winProb -= delta;
        else if (field == 3) t.senderNonce += delta;
        else t.expiry += delta;
        vm.expectRevert(TicketBroker.InvalidSignature.selector);
        broker.redeemWinningTicket(t, sig, RAND);
    }
}
